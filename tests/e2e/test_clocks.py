"""End to end: a scripted call on the manual clock gives exact clocks, speech
and attributes in Fetch, List, both watch streams and REST; the same values
after a restart (on PostgreSQL: from another replica, while the first runs).

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import App
from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.gateway import render
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, make_settings
from tests.e2e.helpers import create, fetch, list_all
from tests.poll import eventually

T0 = 1_700_000_000.0
SPEAKING = pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_SPEAKING


def clocks(p: ppb.Participant) -> dict[str, Any]:
    """The issue's fields of a participant, times as clock seconds."""
    values: dict[str, Any] = {
        name: getattr(p, name)
        for name in (
            "label",
            "queue_seconds",
            "ring_seconds",
            "talk_seconds",
            "hold_count",
            "hold_seconds",
            "mute_count",
            "mute_seconds",
            "speaking",
        )
    }
    times = ("queue_since", "ring_since", "talk_since", "hold_since", "mute_since")
    for name in (*times, "status_since", "last_spoke_at"):
        given = p.HasField(name)  # type: ignore[arg-type]
        values[name] = getattr(p, name).ToNanoseconds() / 1e9 if given else None
    values["attributes"] = dict(p.attributes)
    return values


NOTHING: dict[str, Any] = dict.fromkeys(("queue_since", "ring_since", "hold_since", "mute_since"))
AGENT: dict[str, Any] = {
    **NOTHING,
    "label": "agent",
    "queue_seconds": 0.0,
    "ring_seconds": 2.0,
    "talk_seconds": 0.0,
    "talk_since": T0 + 2,
    "hold_count": 0,
    "hold_seconds": 0.0,
    "mute_count": 1,
    "mute_seconds": 15.0,
    "status_since": T0 + 2,
    "speaking": False,
    "last_spoke_at": T0 + 21,
    "attributes": {"role": "agent"},
}
CUSTOMER: dict[str, Any] = {
    **NOTHING,
    "label": "customer",
    "queue_seconds": 0.0,
    "ring_seconds": 2.0,
    "talk_seconds": 0.0,
    "talk_since": T0 + 2,
    "hold_count": 1,
    "hold_seconds": 10.0,
    "mute_count": 0,
    "mute_seconds": 0.0,
    "status_since": T0 + 2,
    "speaking": False,
    "last_spoke_at": None,
    "attributes": {"role": "customer"},
}


class Stream:
    """A watch stream read in the background into `items`."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.items: list[Any] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for item in self.call:
                self.items.append(item)

    def events(self) -> list[pb.ConferenceEvent]:
        return [i.event for i in self.items if i.HasField("event")]

    async def until_revision(self, revision: int) -> None:
        def reached() -> bool:
            # WatchConference's progress carries a revision; WatchAccount's a cursor.
            progress = [
                getattr(i.progress, "revision", 0) for i in self.items if i.HasField("progress")
            ]
            events = [e.revision for e in self.events()]
            return max([0, *progress, *events]) >= revision

        await eventually(reached, f"the stream reached revision {revision}")

    def close(self) -> None:
        self.call.cancel()


async def update(h: Harness, conference: str, key: str, **fields: Any) -> None:
    request = pb.UpdateParticipantRequest(name=h.name(conference, key), **fields)
    await h.stub.UpdateParticipant(request, metadata=h.md())


async def rest_json(base: str, conference: str, key: str) -> dict[str, Any]:
    url = (
        f"{base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}/Participants/{key}.json"
    )
    headers = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    message = ppb.Participant()
    message.status_since.FromNanoseconds(round(seconds * 1e9))
    return render.iso8601(message.status_since)


@contextlib.asynccontextmanager
async def server(tmp_path: Path, start: float) -> AsyncIterator[Harness]:
    """A server on the test's database, its manual clock starting at `start`."""
    clock = ManualClock(start)
    app = App(make_settings(tmp_path), clock=clock)
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    try:
        yield Harness(app, clock, channel, pb_grpc.ParticipantServiceStub(channel))
    finally:
        await channel.close()
        await app.stop(grace=0)


async def read_back(h: Harness, conference: str, agent: str, customer: str) -> None:
    """Fetch, List (by attribute), both watches' snapshots and REST: exact values."""
    assert clocks(await fetch(h, conference, agent)) == AGENT
    assert clocks(await fetch(h, conference, customer)) == CUSTOMER
    listed = await list_all(h, conference, attributes=["role=agent"])
    assert [clocks(p) for p in listed] == [AGENT]
    snapshot = Stream(
        h.stub.WatchConference(
            pb.WatchConferenceRequest(parent=h.parent(conference)), metadata=h.md()
        )
    )
    account = Stream(
        h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}", attributes=["role=customer"]),
            metadata=h.md(),
        )
    )
    try:
        await eventually(
            lambda: any(i.HasField("initial_state_complete") for i in snapshot.items),
            "the conference snapshot",
        )
        await eventually(
            lambda: any(i.HasField("snapshot_complete") for i in account.items), "the floor"
        )
        initial = [clocks(i.initial_participant) for i in snapshot.items[:-1]]
        assert initial == [AGENT, CUSTOMER]
        floor = [i.conference_snapshot for i in account.items if i.HasField("conference_snapshot")]
        assert [[clocks(p) for p in c.participants] for c in floor] == [[CUSTOMER]]
    finally:
        snapshot.close()
        account.close()
    body = await rest_json(h.http_base, conference, agent)
    assert {key: body[key] for key in render.ROLLCALL_KEYS} == {
        **{key: AGENT[key] for key in ("queue_seconds", "ring_seconds", "talk_seconds")},
        **{key: AGENT[key] for key in ("hold_count", "hold_seconds", "mute_count")},
        "mute_seconds": 15.0,
        **{key: iso(AGENT[key]) for key in render.ROLLCALL_KEYS if key.endswith(("_since", "_at"))},
        "answered_by": None,
        "speaking": False,
        "attributes": {"role": "agent"},
    }


async def test_a_scripted_call_reads_back_exactly_everywhere_and_after_a_restart(
    tmp_path: Path,
) -> None:
    async with server(tmp_path, T0) as h:
        carrier = h.app.carrier
        assert isinstance(carrier, SimulatedCarrier)
        agent = (
            await create(h, label="agent", muted=True, attributes={"role": "agent"})
        ).participant
        conference = agent.conference_sid
        customer = (
            await create(h, conference, label="customer", attributes={"role": "customer"})
        ).participant
        watch = h.stub.WatchConference
        plain = Stream(
            watch(pb.WatchConferenceRequest(parent=h.parent(conference)), metadata=h.md())
        )
        spoken = Stream(
            watch(
                pb.WatchConferenceRequest(parent=h.parent(conference), event_types=[SPEAKING]),
                metadata=h.md(),
            )
        )
        customers = Stream(
            watch(
                pb.WatchConferenceRequest(
                    parent=h.parent(conference), attributes=["role=customer"]
                ),
                metadata=h.md(),
            )
        )
        floor = Stream(
            h.stub.WatchAccount(
                pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=h.md()
            )
        )
        await h.advance(0)  # dialing and ringing
        await h.advance(2)  # answered: talking from T0 + 2
        await update(h, conference, "customer", hold=True)
        await h.advance(10)
        await update(h, conference, "customer", hold=False)
        await h.advance(3)
        await update(h, conference, "agent", muted=False)
        await h.advance(5)
        assert carrier.speak(agent.call_sid, [(0.0, 1.0)]) == 2
        await h.advance(0)  # speech starts at T0 + 20, published at once
        await h.advance(1)  # and stops at T0 + 21, an interval later: at once too
        # A change after the speech (no clock moves): a stream that would have
        # had the speaking events has them before this one.
        await update(h, conference, "customer", beep_on_exit=False)
        revision = (
            await h.stub.ListParticipants(
                pb.ListParticipantsRequest(parent=h.parent(conference)), metadata=h.md()
            )
        ).revision
        # Progress markers (every stream idle for ROLLCALL_WATCH_PROGRESS_SECONDS)
        # say what each stream has been sent up to the last revision.
        await h.advance(10)
        for stream in (plain, spoken, customers, floor):
            await stream.until_revision(revision)
            stream.close()
        assert SPEAKING not in [e.type for e in plain.events()]
        assert SPEAKING not in [e.type for e in floor.events()]  # the account watch too
        assert [(e.type, e.participant.speaking) for e in spoken.events()] == [
            (SPEAKING, True),
            (SPEAKING, False),
        ]
        assert {e.participant.label for e in customers.events() if e.HasField("participant")} == {
            "customer"
        }
        assert clocks(customers.events()[-1].participant) == CUSTOMER
        await read_back(h, conference, agent.call_sid, customer.call_sid)
        if pg.test_store() == "postgres":
            async with server(tmp_path, T0 + 500) as replica:  # another replica, the first running
                await read_back(replica, conference, agent.call_sid, customer.call_sid)
    async with server(tmp_path, T0 + 500) as restarted:
        await read_back(restarted, conference, agent.call_sid, customer.call_sid)
