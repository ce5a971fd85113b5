"""Tenancy: another account learns nothing of a tenant's resources.

Every RPC and REST route is called with a second account's credentials (and
with an API key of the first account on the second's resources), naming the
victim's real resources and resources that do not exist, under the victim's
account SID and under the caller's own. Within each RPC and account path the
answers must be identical (code, reason, message and metadata with the key
itself blanked out), and the victim's conference must be unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import aiohttp
import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import RollcallError
from service.gateway.status import from_rpc_error
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    Harness,
    basic,
)

MISSING_CF = "CF" + "0" * 32
MISSING_CA = "CA" + "0" * 32


@dataclasses.dataclass
class Victim:
    account: str
    md: tuple[tuple[str, str]]
    friendly: str
    conference_sid: str
    call_sid: str
    label: str


async def _victim(h: Harness, account: str, token: str, friendly: str) -> Victim:
    md = (("authorization", basic(account, token)),)
    p = (
        await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=f"accounts/{account}/conferences/{friendly}",
                from_endpoint="+15005550006",
                to_endpoint="+15551230000",
                label="secret-label",
            ),
            metadata=md,
        )
    ).participant
    return Victim(account, md, friendly, p.conference_sid, p.call_sid, "secret-label")


async def _state(h: Harness, v: Victim) -> tuple[int, list[tuple[str, int, bool]]]:
    page = await h.stub.ListParticipants(
        pb.ListParticipantsRequest(
            parent=f"accounts/{v.account}/conferences/{v.conference_sid}", include_ended=True
        ),
        metadata=v.md,
    )
    return page.revision, [(p.call_sid, p.revision, p.muted) for p in page.participants]


def _shape(error: RollcallError | None, keys: tuple[str, ...]) -> tuple[Any, ...]:
    """An answer with the names the caller gave blanked out."""
    if error is None:
        return ("OK",)

    def blank(text: str) -> str:
        for key in sorted(keys, key=len, reverse=True):
            text = text.replace(key, "<key>")
        return text

    return (
        error.code,
        error.reason,
        blank(error.message),
        error.twilio_code,
        error.http_status,
        tuple(sorted((k, blank(v)) for k, v in error.metadata.items())),
        tuple((f.field, f.description) for f in error.violations),
    )


async def _answer(call: Any, keys: tuple[str, ...]) -> tuple[Any, ...]:
    try:
        result = call
        if hasattr(result, "__aiter__"):
            async for _ in result:
                break
            result.cancel()
        else:
            await result
    except grpc.aio.AioRpcError as error:
        return _shape(from_rpc_error(error), keys)
    return _shape(None, keys)


async def _probe_grpc(h: Harness, v: Victim, md: tuple[tuple[str, str]], own: str) -> None:
    conferences = (v.conference_sid, v.friendly, MISSING_CF, "no-such-room")
    participants = (v.call_sid, v.label, MISSING_CA, "no-such-label")
    for account in (v.account, own):
        answers: dict[str, set[tuple[Any, ...]]] = {}

        def note(rpc: str, shape: tuple[Any, ...], answers: dict[str, Any] = answers) -> None:
            answers.setdefault(rpc, set()).add(shape)

        for conf in conferences:
            parent = f"accounts/{account}/conferences/{conf}"
            keys: tuple[str, ...] = (conf,)
            note(
                "List",
                await _answer(
                    h.stub.ListParticipants(pb.ListParticipantsRequest(parent=parent), metadata=md),
                    keys,
                ),
            )
            note(
                "Watch",
                await _answer(
                    h.stub.WatchConference(pb.WatchConferenceRequest(parent=parent), metadata=md),
                    keys,
                ),
            )
            if not (account == own and conf in (v.friendly, "no-such-room")):
                # (A friendly name under the caller's own account starts the
                # caller's own conference: that is not the victim's.)
                note(
                    "Create",
                    await _answer(
                        h.stub.CreateParticipant(
                            pb.CreateParticipantRequest(
                                parent=parent,
                                from_endpoint="+15005550006",
                                to_endpoint="+15551239999",
                            ),
                            metadata=md,
                        ),
                        keys,
                    ),
                )
            for key in participants:
                name = f"{parent}/participants/{key}"
                keys = (conf, key)
                note(
                    "Fetch",
                    await _answer(
                        h.stub.FetchParticipant(pb.FetchParticipantRequest(name=name), metadata=md),
                        keys,
                    ),
                )
                note(
                    "Update",
                    await _answer(
                        h.stub.UpdateParticipant(
                            pb.UpdateParticipantRequest(name=name, muted=True), metadata=md
                        ),
                        keys,
                    ),
                )
                note(
                    "Delete",
                    await _answer(
                        h.stub.DeleteParticipant(
                            pb.DeleteParticipantRequest(name=name), metadata=md
                        ),
                        keys,
                    ),
                )
        for rpc, shapes in answers.items():
            assert len(shapes) == 1, (rpc, account, shapes)
            (shape,) = shapes
            assert shape[0] != "OK", (rpc, account, shape)


async def _probe_rest(h: Harness, v: Victim, auth: str, own: str) -> None:
    conferences = (v.conference_sid, v.friendly, MISSING_CF, "no-such-room")
    participants = (v.call_sid, v.label, MISSING_CA, "no-such-label")
    async with aiohttp.ClientSession(h.http_base, headers={"Authorization": auth}) as http:
        for account in (v.account, own):
            answers: dict[str, set[tuple[Any, ...]]] = {}
            for conf in conferences:
                base = f"/2010-04-01/Accounts/{account}/Conferences/{quote(conf)}"
                calls: list[tuple[str, str, str, dict[str, str] | None]] = [
                    ("list", "GET", f"{base}/Participants.json", None)
                ]
                if not (account == own and conf in (v.friendly, "no-such-room")):
                    create = {"From": "+15005550006", "To": "+15551239999"}
                    calls.append(("create", "POST", f"{base}/Participants.json", create))
                for key in participants:
                    path = f"{base}/Participants/{quote(key)}.json"
                    calls += [
                        ("fetch", "GET", path, None),
                        ("update", "POST", path, {"Muted": "true"}),
                        ("delete", "DELETE", path, None),
                    ]
                for route, method, path, form in calls:
                    async with http.request(method, path, data=form) as response:
                        body = await response.json()
                    message = str(body.get("message", ""))
                    for key in (*participants, *conferences, path):
                        message = message.replace(key, "<key>").replace(quote(key), "<key>")
                    answers.setdefault(route, set()).add(
                        (response.status, body.get("code"), message)
                    )
            for route, shapes in answers.items():
                assert len(shapes) == 1, (route, account, shapes)
                assert next(iter(shapes))[0] >= 400


async def test_another_account_learns_nothing(harness: Harness) -> None:
    first = await _victim(harness, ACCOUNT_SID, AUTH_TOKEN, "alpha")
    second = await _victim(harness, OTHER_SID, OTHER_TOKEN, "beta")
    before = (await _state(harness, first), await _state(harness, second))
    # The second account on the first's resources.
    other = (("authorization", basic(OTHER_SID, OTHER_TOKEN)),)
    await _probe_grpc(harness, first, other, OTHER_SID)
    # An API key of the first account on the second's resources.
    key = (("authorization", basic(KEY_SID, KEY_SECRET)),)
    await _probe_grpc(harness, second, key, ACCOUNT_SID)
    await _probe_rest(harness, first, basic(OTHER_SID, OTHER_TOKEN), OTHER_SID)
    await _probe_rest(harness, second, basic(KEY_SID, KEY_SECRET), ACCOUNT_SID)
    assert (await _state(harness, first), await _state(harness, second)) == before
