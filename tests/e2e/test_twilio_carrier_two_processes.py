"""`rollcall serve --carrier twilio` end to end, with a second Rollcall as its carrier.

Two real `rollcall serve` processes: B runs its simulated carrier and serves
Twilio's URIs (its REST gateway) and sends Twilio's signed callbacks; A runs
with --carrier twilio pointed at B, and B's callbacks come back to A's public
URL (its HTTP address). Create through A; A's watch sees queued -> ringing
-> connected; a mute on A is a mute on B; a hang-up on B's side is a leave
on A; a delete on A removes the call on B; a conference announcement on A
is played on B and its end (B's report) reaches A's watchers once; ending
the conference on A ends it on B; a forged callback is refused.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.helpers import until_status
from tests.e2e.process import ServerProcess
from tests.e2e.twilio_processes import COMPLETE, CONNECTED, MD, QUEUED, RINGING, fetch, name

pytestmark = pytest.mark.slow


async def test_rollcall_a_dials_through_rollcall_b(tmp_path: Path) -> None:
    b = ServerProcess(
        tmp_path / "b.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0", ROLLCALL_SIM_RING_SECONDS="0.2"
    )
    a = ServerProcess(tmp_path / "a.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0")
    try:
        b.start()
        a.env.update(
            ROLLCALL_CARRIER="twilio",
            ROLLCALL_TWILIO_BASE_URL=f"http://127.0.0.1:{b.http_port}",
            ROLLCALL_TWILIO_ACCOUNTS=f"{ACCOUNT_SID}={ACCOUNT_SID}:{AUTH_TOKEN}",
            ROLLCALL_TWILIO_CALLS_PER_SECOND="0",
        )
        a.start()
        async with (
            grpc.aio.insecure_channel(a.target) as a_channel,
            grpc.aio.insecure_channel(b.target) as b_channel,
        ):
            on_a = pb_grpc.ParticipantServiceStub(a_channel)
            on_b = pb_grpc.ParticipantServiceStub(b_channel)
            await _scenario(on_a, on_b)
            await _conference_actions(a_channel, b_channel)
        # A forged callback (no valid signature) is refused and changes nothing.
        async with aiohttp.ClientSession() as http:
            forged = await http.post(
                f"http://127.0.0.1:{a.http_port}/carrier/twilio/call-status",
                data={"AccountSid": ACCOUNT_SID, "CallSid": "CA" + "0" * 32},
                headers={"X-Twilio-Signature": "forged"},
            )
            assert forged.status == 403
    finally:
        a.close()
        b.close()


async def _scenario(on_a: Any, on_b: Any) -> None:
    created = await on_a.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=name("room"), from_endpoint="+15005550006", to_endpoint="+15551230001"
        ),
        metadata=MD,
    )
    one = created.participant
    conference = one.conference_sid
    carrier_conference = f"rollcall-{conference}"  # the carrier conference, on B

    # The participant's call_sid is the carrier's CallSid: B knows the call by it.
    at_carrier = await fetch(on_b, carrier_conference, one.call_sid)
    assert at_carrier.call_sid == one.call_sid

    watch = on_a.WatchConference(
        pb.WatchConferenceRequest(parent=name(conference), resume_after_revision=0), metadata=MD
    )
    seen: list[int] = []
    while CONNECTED not in seen:
        item = await asyncio.wait_for(watch.read(), timeout=10)
        assert item is not grpc.aio.EOF
        if item.HasField("event") and item.event.participant.call_sid == one.call_sid:
            seen.append(item.event.participant.status)
    watch.cancel()
    assert seen[0] == QUEUED
    assert seen.index(QUEUED) < seen.index(RINGING) < seen.index(CONNECTED)

    # A mute on A is a mute at the carrier.
    await on_a.UpdateParticipant(
        pb.UpdateParticipantRequest(name=name(conference, one.call_sid), muted=True), metadata=MD
    )
    assert (await fetch(on_b, carrier_conference, one.call_sid)).muted

    # A hang-up on B's side (its participant deleted there) is a leave on A.
    two = (
        await on_a.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=name(conference), from_endpoint="+15005550006", to_endpoint="+15551230002"
            ),
            metadata=MD,
        )
    ).participant

    await until_status(on_a, name(conference), MD, [two.call_sid], CONNECTED)
    await on_b.DeleteParticipant(
        pb.DeleteParticipantRequest(name=name(carrier_conference, two.call_sid)), metadata=MD
    )

    await until_status(on_a, name(conference), MD, [two.call_sid], COMPLETE)

    # A delete on A removes the call at the carrier.
    await on_a.DeleteParticipant(
        pb.DeleteParticipantRequest(name=name(conference, one.call_sid)), metadata=MD
    )
    # (by the carrier conference's SID: the conference on B has ended with it)
    assert (await fetch(on_b, at_carrier.conference_sid, one.call_sid)).status == COMPLETE


async def _conference_actions(a_channel: Any, b_channel: Any) -> None:
    on_a, on_b = (
        pb_grpc.ParticipantServiceStub(a_channel),
        pb_grpc.ParticipantServiceStub(b_channel),
    )
    conferences_a = cpb_grpc.ConferenceServiceStub(a_channel)
    conferences_b = cpb_grpc.ConferenceServiceStub(b_channel)
    created = await on_a.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=name("room2"), from_endpoint="+15005550006", to_endpoint="+15551230003"
        ),
        metadata=MD,
    )
    one = created.participant
    conference = one.conference_sid

    await until_status(on_a, name(conference), MD, [one.call_sid], CONNECTED)
    at_carrier = await fetch(on_b, f"rollcall-{conference}", one.call_sid)
    before = await conferences_a.FetchConference(
        cpb.FetchConferenceRequest(name=name(conference)), metadata=MD
    )
    watch = on_a.WatchConference(
        pb.WatchConferenceRequest(
            parent=name(conference), resume_after_revision=before.conference.revision
        ),
        metadata=MD,
    )
    # A conference announcement on A is played on B; its end is B's report.
    announced = await conferences_a.UpdateConference(
        cpb.UpdateConferenceRequest(name=name(conference), announce_url="https://example.com/a"),
        metadata=MD,
    )
    # The announcement changes no revision itself; B's report of its end may
    # already be recorded when the update is decided again after B acted.
    assert announced.conference.revision in (
        before.conference.revision,
        before.conference.revision + 1,
    )
    item = await asyncio.wait_for(watch.read(), timeout=10)
    assert item.event.type == pb.CONFERENCE_EVENT_TYPE_ANNOUNCEMENT_ENDED
    assert not item.event.HasField("participant")

    # Ending it on A ends it on B, with B's conference and call.
    ended = await conferences_a.UpdateConference(
        cpb.UpdateConferenceRequest(name=name(conference), status=ppb.CONFERENCE_STATUS_COMPLETED),
        metadata=MD,
    )
    assert ended.conference.end_reason == ppb.CONFERENCE_END_REASON_CONFERENCE_ENDED_VIA_API
    kinds = []
    while pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED not in kinds:
        item = await asyncio.wait_for(watch.read(), timeout=10)
        assert item is not grpc.aio.EOF
        if item.HasField("event"):
            kinds.append(item.event.type)
    watch.cancel()
    assert kinds == [
        pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
        pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED,
    ]
    at_b = await conferences_b.FetchConference(
        cpb.FetchConferenceRequest(name=name(at_carrier.conference_sid)), metadata=MD
    )
    assert at_b.conference.status == ppb.CONFERENCE_STATUS_COMPLETED
    assert at_b.conference.end_reason == ppb.CONFERENCE_END_REASON_CONFERENCE_ENDED_VIA_API
    assert (await fetch(on_b, at_carrier.conference_sid, one.call_sid)).status == COMPLETE
