"""The Twilio adapter with a second, real Rollcall as its carrier.

Rollcall B (a real server: gRPC, REST gateway speaking Twilio's URIs, its
simulated carrier on a ManualClock, its status callbacks signed like
Twilio's) is the carrier; the adapter places calls through B's gateway and
B's signed callbacks come back over HTTP to the ingest routes, which must
accept B's signatures and understand B's forms. This one stops at the port;
test_twilio_carrier_two_processes runs a whole Rollcall A in front of B.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.carriers.twilio.adapter import TwilioCarrier
from service.carriers.twilio.config import TwilioOptions, UpstreamAccount
from service.carriers.twilio.ingest import callback_urls
from service.clock import ManualClock
from service.core.errors import CALL_GONE, Code, RollcallError
from service.core.ports.carrier import (
    CallTarget,
    ConferenceEvent,
    ConferenceReport,
    Kick,
    Mute,
    PlaceCall,
    Placed,
    Update,
)
from service.core.statuses import CallStatus
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, make_settings, serving
from tests.e2e.helpers import expect_error, fetch
from tests.fakes.twilio_harness import Received, ingest_server

LOCAL = "AC" + "f" * 32  # the Rollcall account whose upstream is B's account
CONFERENCE = "CF" + "6" * 32
ANSWERS = "+15551230001"
HANGS_UP = "+15551230004"  # B's callee hangs up 30 s after answering


@contextlib.asynccontextmanager
async def adapter_for(b: Harness, received: Received) -> AsyncIterator[TwilioCarrier]:
    async with ingest_server(None, {ACCOUNT_SID: AUTH_TOKEN}, received) as public:
        clock = ManualClock()
        carrier = TwilioCarrier(
            {LOCAL: UpstreamAccount(ACCOUNT_SID, AUTH_TOKEN)},
            callback_urls(public),
            clock,
            TwilioOptions(base_url=b.http_base, calls_per_second=0),
            sleep=clock.advance,
        )
        try:
            yield carrier
        finally:
            await carrier.close()


def a_call(key: str, to: str) -> PlaceCall:
    return PlaceCall(LOCAL, key, CONFERENCE, "+15005550006", to, 30, 3600)


def target(placed: Placed) -> CallTarget:
    return CallTarget(LOCAL, placed.conference_sid, placed.call_sid)


async def test_place_mute_hang_up_and_kick_through_a_second_rollcall(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sim_outcomes=f"{HANGS_UP}=hangup:30")
    received = Received()
    async with serving(settings) as b, adapter_for(b, received) as carrier:
        one = await carrier.place(a_call("one", ANSWERS))
        two = await carrier.place(a_call("two", HANGS_UP))
        assert one.conference_sid == two.conference_sid
        conference = one.conference_sid
        await b.advance(2.0)  # both answered on B

        def statuses(placed: Placed) -> list[CallStatus]:
            return [r.status for r in received.calls(placed.call_sid)]

        await received.wait(lambda: CallStatus.IN_PROGRESS in statuses(two))
        await received.wait(lambda: CallStatus.IN_PROGRESS in statuses(one))
        assert statuses(one) == [CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS]
        on_b = await fetch(b, conference, one.call_sid)
        assert on_b.label == "rc-one"

        await carrier.apply(Update(target(one), (Mute(True),)))
        assert (await fetch(b, conference, one.call_sid)).muted
        await received.wait(
            lambda: any(e.event is ConferenceEvent.PARTICIPANT_MUTE for e in received.conference())
        )

        await b.advance(30.0)  # B's callee hangs up: a leave we did not cause
        await received.wait(lambda: CallStatus.COMPLETED in statuses(two))
        await received.wait(lambda: _leave_of(received, two.call_sid) is not None)
        left = _leave_of(received, two.call_sid)
        assert left is not None and left.leave_reason == "participant_hung_up"
        assert left.participant_call_status is CallStatus.COMPLETED

        await carrier.apply(Kick(target(one)))
        await received.wait(lambda: CallStatus.COMPLETED in statuses(one))
        await expect_error(
            b.stub.FetchParticipant(
                pb.FetchParticipantRequest(name=b.name(conference, one.call_sid)), metadata=b.md()
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        # B refuses an effect on the ended call with Twilio's 21220 (call not in
        # progress): the call has left, a typed error here (issue 25).
        with pytest.raises(RollcallError) as gone:
            await carrier.apply(Update(target(one), (Mute(False),)))
        assert (gone.value.code, gone.value.reason) == (Code.NOT_FOUND, CALL_GONE)
        numbers = [r.sequence_number or 0 for r in received.calls(one.call_sid)]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def _leave_of(received: Received, call_sid: str) -> ConferenceReport | None:
    for event in received.conference():
        if event.event is ConferenceEvent.PARTICIPANT_LEAVE and event.call_sid == call_sid:
            return event
    return None
