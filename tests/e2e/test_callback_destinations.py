"""End to end: callback destinations restricted by ROLLCALL_CALLBACK_*_NETWORKS.

A URL reaching a denied network is refused when it is given (gRPC
INVALID_ARGUMENT naming the field, REST 400 with Twilio's 21205) and changes
nothing; a URL accepted earlier is refused again at delivery (here: accepted
by a server with an open policy, delivered after a restart with a closed one),
counted, logged and never retried; and an allow-list entry more specific than
a denied range lets callbacks through to that address only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest

from rollcall.v1 import callback_service_pb2 as cpb
from rollcall.v1 import callback_service_pb2_grpc as cpb_grpc
from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_service_pb2 as pb
from service.metrics import REGISTRY
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, make_settings, serving
from tests.e2e.helpers import create, expect_error, list_all
from tests.fakes.receiver import Receiver

LOOPBACK = "127.0.0.0/8,::1/128"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


async def assert_nothing_created(h: Harness) -> None:
    request = pb.ListParticipantsRequest(parent=h.parent("room"), include_ended=True)
    await expect_error(h.stub.ListParticipants(request, metadata=h.md()), grpc.StatusCode.NOT_FOUND)


def refused(kind: str = "call") -> float:
    value = REGISTRY.get_sample_value("rollcall_callbacks_refused_total", {"kind": kind})
    return value or 0.0


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("status_callback", "http://127.0.0.1:9/cb"),
        ("status_callback", "http://localhost:9/cb"),
        ("conference_status_callback", "http://[::1]:9/cb"),
        ("wait_url", "http://[::ffff:127.0.0.1]/twiml"),
    ],
)
async def test_a_denied_destination_is_invalid_over_grpc_and_creates_nothing(
    tmp_path: Path, field: str, url: str
) -> None:
    async with serving(make_settings(tmp_path, callback_deny_networks=LOOPBACK)) as h:
        error = await expect_error(create(h, **{field: url}), grpc.StatusCode.INVALID_ARGUMENT)
        assert [v.field for v in error.violations] == [field]
        assert error.twilio_code == 21205
        await assert_nothing_created(h)


async def test_a_denied_destination_is_a_twilio_400_over_rest(tmp_path: Path) -> None:
    async with serving(make_settings(tmp_path, callback_deny_networks=LOOPBACK)) as h:
        path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"
        form = {"From": "+15005550006", "To": "+15551230000"}
        async with aiohttp.ClientSession(
            base_url=h.http_base, headers={"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
        ) as http:
            denied = {**form, "StatusCallback": "http://127.0.0.1:9/cb"}
            async with http.post(path, data=denied) as response:
                assert response.status == 400
                body = await response.json()
            assert body["code"] == 21205
            assert "StatusCallback" in body["message"] or "status_callback" in body["message"]
            await assert_nothing_created(h)
            # A public address is fine; an update pointing HoldUrl at loopback is not.
            allowed = {**form, "StatusCallback": "http://192.0.2.10/cb"}
            async with http.post(path, data=allowed) as response:
                assert response.status == 201
                created = await response.json()
            instance = path.replace(".json", f"/{created['call_sid']}.json")
            async with http.post(
                instance, data={"Hold": "true", "HoldUrl": "http://localhost/hold"}
            ) as response:
                assert response.status == 400
                assert (await response.json())["code"] == 21205
        [participant] = await list_all(h, "room")
        assert not participant.hold


async def _owe_a_callback(h: Harness, url: str, conference: str = "room") -> None:
    """A participant whose dialing owes `url` an `initiated` callback."""
    await create(h, conference, status_callback=url, status_callback_event=[E.CALL_EVENT_INITIATED])
    await h.advance(0)


async def test_a_destination_accepted_earlier_is_refused_at_delivery_and_not_retried(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = 500  # the open server's attempts fail: the callbacks stay owed
    literal, name = receiver.url("/literal"), f"http://localhost:{receiver.port}/name"
    async with serving(make_settings(tmp_path)) as h:
        await _owe_a_callback(h, literal, "room-a")
        await _owe_a_callback(h, name, "room-b")
        assert h.app.webhooks is not None
        await h.app.webhooks.wait_retrying(2)
    failed_attempts = len(receiver.hits)
    receiver.status = 200
    before = refused()
    caplog.set_level(logging.ERROR, logger="rollcall.webhooks")
    async with serving(make_settings(tmp_path, callback_deny_networks=LOOPBACK)) as h:
        assert h.app.webhooks is not None
        await h.app.webhooks.wait_idle()
        assert h.app.webhooks.retrying() == 0
    assert refused() - before == 2
    assert len(receiver.hits) == failed_attempts  # nothing reached the receiver
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("status callback refused: destination not allowed") == 2


async def test_an_allowed_address_inside_a_denied_range_gets_its_callbacks(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = make_settings(
        tmp_path, callback_deny_networks=LOOPBACK, callback_allow_networks="127.0.0.1/32"
    )
    async with serving(settings) as h:
        # localhost may also resolve to ::1, which stays denied: only 127.0.0.1 is used.
        await _owe_a_callback(h, f"http://localhost:{receiver.port}/ok")
        [hit] = await receiver.wait_delivered(1)
        assert hit.params["CallStatus"] == "initiated"
        await expect_error(
            _owe_a_callback(h, "http://127.0.0.2/no"), grpc.StatusCode.INVALID_ARGUMENT
        )


async def test_redelivering_a_dead_letter_to_a_denied_destination_is_refused(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Dead letters kept while the policy was open are not sent once it denies
    their host: nothing is connected to, they stay kept (outcome noted) and the
    caller gets FAILED_PRECONDITION saying why."""
    receiver.status = 500  # the one attempt fails: both callbacks become dead letters
    literal, name = receiver.url("/literal"), f"http://localhost:{receiver.port}/name"
    async with serving(make_settings(tmp_path, callback_max_attempts=1)) as h:
        await _owe_a_callback(h, literal, "room-a")
        await _owe_a_callback(h, name, "room-b")
        assert h.app.webhooks is not None
        await h.app.webhooks.wait_idle()
    assert len(receiver.hits) == 2
    receiver.status = 200
    stub = cpb_grpc.CallbackServiceStub
    async with serving(make_settings(tmp_path, callback_deny_networks=LOOPBACK)) as h:
        callbacks = stub(h.channel)
        parent = f"accounts/{ACCOUNT_SID}"
        error = await expect_error(
            callbacks.RedeliverDeadLetters(
                cpb.RedeliverDeadLettersRequest(parent=parent), metadata=h.md()
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert error.reason == "CALLBACK_DESTINATION_NOT_ALLOWED"
        assert error.metadata["refused"] == "2"
        assert error.metadata["delivered"] == "0"
        assert error.metadata["remaining"] == "2"
        assert "not an allowed callback destination" in error.message
        listed = await callbacks.ListDeadLetters(
            cpb.ListDeadLettersRequest(parent=parent), metadata=h.md()
        )
        assert [x.last_outcome for x in listed.dead_letters] == ["destination not allowed"] * 2
    assert len(receiver.hits) == 2  # nothing reached the receiver
