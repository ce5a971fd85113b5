"""End to end: Twilio-format status callbacks to a real HTTP receiver.

A real Rollcall server (manual clock) calls an aiohttp server on 127.0.0.1;
signatures are checked with Twilio's own RequestValidator. Retries are driven
by advancing the clock once the dispatcher reports it is waiting to retry; the
test waits on conditions the receiver sets, never on sleeps.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import Harness, started
from tests.e2e.helpers import create, webhooks
from tests.fakes.receiver import Receiver

ALL_CALL_EVENTS = [
    E.CALL_EVENT_INITIATED,
    E.CALL_EVENT_RINGING,
    E.CALL_EVENT_ANSWERED,
    E.CALL_EVENT_COMPLETED,
]
PARTICIPANT_FIELDS = {
    "CallSid",
    "Muted",
    "Hold",
    "Coaching",
    "EndConferenceOnExit",
    "StartConferenceOnEnter",
}
CONFERENCE_FIELDS = {"ConferenceSid", "FriendlyName", "AccountSid", "SequenceNumber", "Timestamp"}


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(tmp_path) as harness:
        yield harness


async def update(h: Harness, conference: str, key: str, **fields: Any) -> None:
    request = pb.UpdateParticipantRequest(name=h.name(conference, key), **fields)
    await h.stub.UpdateParticipant(request, metadata=h.md())


async def delete(h: Harness, conference: str, key: str) -> None:
    request = pb.DeleteParticipantRequest(name=h.name(conference, key))
    await h.stub.DeleteParticipant(request, metadata=h.md())


def seconds(timestamp: str) -> float:
    return email.utils.parsedate_to_datetime(timestamp).timestamp()


async def test_status_callback_reports_selected_progress_in_order(
    h: Harness, receiver: Receiver
) -> None:
    start = h.clock.now()
    p = (
        await create(
            h, status_callback=receiver.url("/call"), status_callback_event=ALL_CALL_EVENTS
        )
    ).participant
    await h.advance(0)  # dialing, then ringing
    await receiver.wait_delivered(2)
    await h.advance(2)  # answered
    await receiver.wait_delivered(3)
    await h.advance(5)
    await delete(h, p.conference_sid, p.call_sid)
    hits = await receiver.wait_delivered(4)
    await webhooks(h).wait_idle()
    assert hits == receiver.hits  # nothing failed, nothing extra

    assert [x.params["CallStatus"] for x in hits] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [x.params["SequenceNumber"] for x in hits] == ["0", "1", "2", "3"]
    assert [seconds(x.params["Timestamp"]) for x in hits] == [start, start, start + 2, start + 7]
    assert hits[-1].params["CallDuration"] == "5"
    assert all("CallDuration" not in x.params for x in hits[:-1])
    for x in hits:
        assert x.method == "POST"
        assert x.signature_valid()
        assert x.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert x.headers["User-Agent"] == "TwilioProxy/1.1"
        assert x.params["CallSid"] == p.call_sid
        assert x.params["AccountSid"] == h.account_sid
        assert x.params["From"] == x.params["Caller"] == "+15005550006"
        assert x.params["To"] == x.params["Called"] == "+15551230000"
        assert x.params["ApiVersion"] == "2010-04-01"
        assert x.params["Direction"] == "outbound-api"
        assert x.params["CallbackSource"] == "call-progress-events"
    tokens = {x.headers["I-Twilio-Idempotency-Token"] for x in hits}
    assert len(tokens) == 4


async def test_get_callback_puts_params_in_the_query(h: Harness, receiver: Receiver) -> None:
    url = receiver.url("/get?tenant=acme&x=1")
    p = (await create(h, status_callback=url, status_callback_method=E.HTTP_METHOD_GET)).participant
    await h.advance(2)  # answered: not selected (the default is completed only)
    await delete(h, p.conference_sid, p.call_sid)
    [hit] = await receiver.wait_delivered(1)
    await webhooks(h).wait_idle()
    assert len(receiver.hits) == 1
    assert hit.method == "GET"
    assert hit.url.startswith(url + "&")
    query = dict(parse_qsl(urlsplit(hit.url).query))
    assert query["tenant"] == "acme"
    assert query["x"] == "1"
    assert query["CallStatus"] == "completed"
    assert query["SequenceNumber"] == "0"
    assert "Content-Type" not in hit.headers
    assert hit.signature_valid()


async def test_busy_call_reports_completed_with_its_status(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with started(tmp_path, sim_outcomes="+15550000001=busy") as h:
        words = [E.CONFERENCE_CALLBACK_EVENT_LEAVE]
        await create(
            h,
            to="+15550000001",
            status_callback=receiver.url("/call"),
            status_callback_event=ALL_CALL_EVENTS,
            conference_status_callback=receiver.url("/conf"),
            conference_status_callback_event=words,
        )
        await h.advance(0)
        await receiver.wait_delivered(3)
        await webhooks(h).wait_idle()
    initiated, leave, completed = receiver.hits
    assert initiated.params["CallStatus"] == "initiated"
    assert leave.params["StatusCallbackEvent"] == "participant-leave"
    assert leave.params["ParticipantCallStatus"] == "busy"
    assert leave.params["ReasonParticipantLeft"] == "participant_add_failed"
    assert completed.params["CallStatus"] == "busy"
    assert completed.params["CallDuration"] == "0"


async def test_conference_callback_from_the_first_participant_only(
    h: Harness, receiver: Receiver
) -> None:
    chosen = [
        E.CONFERENCE_CALLBACK_EVENT_START,
        E.CONFERENCE_CALLBACK_EVENT_END,
        E.CONFERENCE_CALLBACK_EVENT_JOIN,
        E.CONFERENCE_CALLBACK_EVENT_LEAVE,
        E.CONFERENCE_CALLBACK_EVENT_MUTE,
        E.CONFERENCE_CALLBACK_EVENT_HOLD,
    ]
    a = (
        await create(
            h,
            label="agent one",
            conference_status_callback=receiver.url("/conf1"),
            conference_status_callback_event=chosen,
        )
    ).participant
    b = (
        await create(
            h,
            to="+15551230001",
            conference_status_callback=receiver.url("/conf2"),
            conference_status_callback_event=[E.CONFERENCE_CALLBACK_EVENT_MODIFY],
        )
    ).participant
    room = a.conference_sid
    await h.advance(2)  # both answer; the conference starts
    await receiver.wait_delivered(3)
    await update(h, room, a.call_sid, muted=True)
    await update(h, room, b.call_sid, hold=True)
    await update(h, room, a.call_sid, beep_on_exit=False)  # modify: not selected
    await update(h, room, a.call_sid, muted=False)
    await delete(h, room, b.call_sid)
    await delete(h, room, "agent one")
    hits = await receiver.wait_delivered(9)
    await webhooks(h).wait_idle()
    assert hits == receiver.hits  # and none went to /conf2

    assert [(x.path, x.params["StatusCallbackEvent"]) for x in hits] == [
        ("/conf1", "participant-join"),
        ("/conf1", "participant-join"),
        ("/conf1", "conference-start"),
        ("/conf1", "participant-mute"),
        ("/conf1", "participant-hold"),
        ("/conf1", "participant-unmute"),
        ("/conf1", "participant-leave"),
        ("/conf1", "participant-leave"),
        ("/conf1", "conference-end"),
    ]
    assert [int(x.params["SequenceNumber"]) for x in hits] == list(range(1, 10))
    for x in hits:
        assert x.signature_valid()
        assert set(x.params) >= CONFERENCE_FIELDS
        assert x.params["ConferenceSid"] == room
        assert x.params["FriendlyName"] == "room"
        assert x.params["AccountSid"] == h.account_sid
        event = x.params["StatusCallbackEvent"]
        if event.startswith("participant-"):
            assert set(x.params) >= PARTICIPANT_FIELDS
            assert ("ParticipantLabel" in x.params) == (x.params["CallSid"] == a.call_sid)
        else:
            assert "CallSid" not in x.params
    join_a, join_b, _, mute, hold, unmute, leave_b, leave_a, end = hits
    assert join_a.params["CallSid"] == a.call_sid
    assert join_a.params["ParticipantLabel"] == "agent one"
    assert join_b.params["CallSid"] == b.call_sid
    assert (mute.params["Muted"], mute.params["Hold"]) == ("true", "false")
    assert (hold.params["CallSid"], hold.params["Hold"]) == (b.call_sid, "true")
    assert unmute.params["Muted"] == "false"
    for leave in (leave_a, leave_b):
        assert leave.params["ParticipantCallStatus"] == "completed"
        assert leave.params["ReasonParticipantLeft"] == "participant_updated_via_api"
    assert leave_b.params["Hold"] == "true"
    assert end.params["CallSidEndingConference"] == a.call_sid
    assert end.params["ParticipantLabelEndingConference"] == "agent one"
    assert end.params["ReasonConferenceEnded"] == "last-participant-kicked"
    assert end.params["Reason"]


async def test_failed_deliveries_are_retried_in_order(h: Harness, receiver: Receiver) -> None:
    receiver.script = [500, 500]
    await create(
        h,
        status_callback=receiver.url("/call"),
        status_callback_event=[E.CALL_EVENT_INITIATED, E.CALL_EVENT_RINGING],
    )
    await h.advance(0)
    await receiver.wait(lambda: len(receiver.hits) == 1)
    await webhooks(h).wait_retrying()
    await h.advance(1)
    await receiver.wait(lambda: len(receiver.hits) == 2)
    await webhooks(h).wait_retrying()
    assert len(receiver.hits) == 2  # ringing waits behind initiated
    await h.advance(2)  # the backoff doubled
    hits = await receiver.wait_delivered(2)
    await webhooks(h).wait_idle()

    assert [x.status for x in receiver.hits] == [500, 500, 200, 200]
    first, second, third, ringing = receiver.hits
    assert [x.params["CallStatus"] for x in receiver.hits] == ["initiated"] * 3 + ["ringing"]
    assert hits == [third, ringing]
    tokens = {x.headers["I-Twilio-Idempotency-Token"] for x in (first, second, third)}
    assert len(tokens) == 1
    assert ringing.headers["I-Twilio-Idempotency-Token"] not in tokens
    assert first.params == third.params
    assert [x.params["SequenceNumber"] for x in hits] == ["0", "1"]


async def test_receiver_down_then_up(h: Harness, receiver: Receiver) -> None:
    port = receiver.port
    url = receiver.url("/call")
    await receiver.stop()
    await create(h, status_callback=url, status_callback_event=[E.CALL_EVENT_INITIATED])
    await h.advance(0)
    await webhooks(h).wait_retrying()  # connection refused
    await receiver.start(port)
    await h.advance(1)
    [hit] = await receiver.wait_delivered(1)
    await webhooks(h).wait_idle()
    assert hit.params["CallStatus"] == "initiated"
    assert hit.signature_valid()


async def test_give_up_after_the_last_attempt(tmp_path: Path, receiver: Receiver) -> None:
    receiver.status = 503
    async with started(tmp_path, callback_max_attempts=2) as h:
        await create(
            h,
            status_callback=receiver.url("/call"),
            status_callback_event=[E.CALL_EVENT_INITIATED, E.CALL_EVENT_RINGING],
        )
        await h.advance(0)
        await webhooks(h).wait_retrying()
        await h.advance(1)
        await receiver.wait(lambda: len(receiver.hits) == 3)
        await webhooks(h).wait_retrying()
        receiver.status = 200
        await h.advance(1)
        await receiver.wait_delivered(1)
        await webhooks(h).wait_idle()
    # initiated twice (given up), ringing twice (the second one delivered).
    assert [(x.params["CallStatus"], x.status) for x in receiver.hits] == [
        ("initiated", 503),
        ("initiated", 503),
        ("ringing", 503),
        ("ringing", 200),
    ]
    assert receiver.hits[-1].params["SequenceNumber"] == "1"


async def test_undelivered_callbacks_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.status = 500
    # A long backoff: advancing the carrier's clock must not trigger retries.
    async with started(tmp_path, callback_backoff_seconds=1000.0) as first:
        p = (
            await create(
                first,
                status_callback=receiver.url("/call"),
                status_callback_event=ALL_CALL_EVENTS,
                conference_status_callback=receiver.url("/conf"),
                conference_status_callback_event=[
                    E.CONFERENCE_CALLBACK_EVENT_JOIN,
                    E.CONFERENCE_CALLBACK_EVENT_LEAVE,
                    E.CONFERENCE_CALLBACK_EVENT_END,
                ],
            )
        ).participant
        await first.advance(2)
        await delete(first, p.conference_sid, p.call_sid)
        await webhooks(first).wait_retrying()
        failed = list(receiver.hits)
    assert [x.status for x in failed] == [500]

    receiver.status = 200
    async with started(tmp_path) as second:
        hits = await receiver.wait_delivered(7)
        await webhooks(second).wait_idle()
    assert receiver.hits == failed + hits
    assert [
        (x.path, x.params.get("CallStatus") or x.params["StatusCallbackEvent"]) for x in hits
    ] == [
        ("/call", "initiated"),
        ("/call", "ringing"),
        ("/call", "in-progress"),
        ("/conf", "participant-join"),
        ("/conf", "participant-leave"),
        ("/call", "completed"),
        ("/conf", "conference-end"),
    ]
    assert (
        hits[0].headers["I-Twilio-Idempotency-Token"]
        == failed[0].headers["I-Twilio-Idempotency-Token"]
    )
    assert hits[0].params == failed[0].params
    call = [x.params["SequenceNumber"] for x in hits if x.path == "/call"]
    conference = [x.params["SequenceNumber"] for x in hits if x.path == "/conf"]
    assert (call, conference) == (["0", "1", "2", "3"], ["1", "2", "3"])
    assert all(x.signature_valid() for x in hits)

    # Delivered means recorded: a third start sends nothing again.
    async with started(tmp_path) as third:
        await webhooks(third).wait_idle()
        assert webhooks(third).pending() == 0
    assert len(receiver.hits) == len(failed) + 7


async def test_compaction_keeps_events_whose_callbacks_are_pending(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.status = 500
    settings: dict[str, Any] = {
        "event_retention_count": 1,
        "event_retention_seconds": 0,
        "callback_backoff_seconds": 1000.0,
    }
    async with started(tmp_path, **settings) as first:
        await create(
            first,
            status_callback=receiver.url("/call"),
            status_callback_event=ALL_CALL_EVENTS,
        )
        await first.advance(3)  # initiated, ringing, answered: the first is failing
        await receiver.wait(lambda: len(receiver.hits) == 1)
        await webhooks(first).wait_retrying()
        await first.app.compact()
    # A new process must find every event whose callback is still owed.
    receiver.status = 200
    async with started(tmp_path, **settings) as second:
        hits = await receiver.wait_delivered(3)
        await webhooks(second).wait_idle()
    assert [x.params["CallStatus"] for x in hits] == ["initiated", "ringing", "in-progress"]
