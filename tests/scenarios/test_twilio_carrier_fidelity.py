"""Carrier fidelity (issue 25): what Twilio does itself, calls gone, held changes, every field.

The core on the Twilio adapter against the fake carrier, real HTTP both ways
(tests.fakes.twilio_core). Each case counts the requests Rollcall sends the
carrier: none where Twilio ends calls itself; a call the carrier says is gone
ends its participant at once with the carrier's word; EndConferenceOnExit on
a held call goes with Hold; the tenant's callbacks for every event carry
only (and all of) what Twilio documents for it (service.webhooks.documented).
"""

from __future__ import annotations

from typing import Any

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.errors import CALL_GONE, RollcallError
from service.core.events import Event
from service.core.lost_calls import QuietCalls
from service.core.records import Participant, StatusCallback
from service.core.statuses import CallStatus, LeaveReason, ParticipantStatus
from service.webhooks import documented
from service.webhooks.params import callbacks_for
from tests.fakes.carrier_state import Call
from tests.fakes.core import command, simulated_core
from tests.fakes.twilio_core import CoreRig, core_on_twilio
from tests.fakes.twilio_harness import ACCOUNT

ANNOUNCE = "https://tenant.example/announce.xml"
EVERY_CALL_STEP = StatusCallback(
    "https://tenant.example/calls", "POST", ("initiated", "ringing", "answered", "completed")
)


async def state(rig: CoreRig, p: Participant) -> Participant:
    ref = ConferenceRef(p.account_sid, p.conference_sid)
    return await rig.participants.fetch(ref, p.call_sid, include_ended=True)


EVERY_CONFERENCE_EVENT = StatusCallback(
    "https://tenant.example/conference",
    "POST",
    ("start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"),
)


async def two_connected(rig: CoreRig) -> tuple[Participant, Participant]:
    a, _ = await rig.participants.create(
        rig.create_command(
            end_conference_on_exit=True,
            label="agent",
            status_callback=EVERY_CALL_STEP,
            conference_status_callback=EVERY_CONFERENCE_EVENT,
        )
    )
    b, _ = await rig.participants.create(
        rig.create_command(to_endpoint="sip:bob@example.com", status_callback=EVERY_CALL_STEP)
    )
    await rig.carrier.let_time_pass(5)
    for p in (a, b):
        assert (await state(rig, p)).status is ParticipantStatus.CONNECTED
    return a, b


def sent_since(rig: CoreRig, before: int) -> list[tuple[str, str]]:
    return [(r.method, r.path.rsplit("/", 1)[-1]) for r in rig.carrier.requests[before:]]


def call_of(rig: CoreRig, p: Participant) -> Call:
    return rig.carrier.network.calls[p.call_sid]


async def test_an_end_on_exit_hangup_sends_the_carrier_nothing() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        before = len(rig.carrier.requests)
        rig.carrier.network.hang_up(call_of(rig, a))  # Twilio drops b itself
        await rig.carrier.settle()
        assert sent_since(rig, before) == []
        assert (await state(rig, b)).leave_reason is LeaveReason.MODERATOR_ENDED_CONFERENCE
        assert not call_of(rig, b).live


async def test_kicking_an_end_on_exit_participant_is_one_request() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        before = len(rig.carrier.requests)
        await rig.participants.delete(ConferenceRef(ACCOUNT, a.conference_sid), a.call_sid, "")
        await rig.carrier.settle()
        assert sent_since(rig, before) == [("DELETE", f"{a.call_sid}.json")]
        assert not (await state(rig, b)).active


async def test_an_update_of_a_call_gone_at_the_carrier_ends_it_and_is_refused() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        rig.carrier.holding = True  # its callbacks are lost
        rig.carrier.network.hang_up(call_of(rig, b))
        before = len(rig.carrier.requests)
        ref = ConferenceRef(ACCOUNT, b.conference_sid)
        with pytest.raises(RollcallError) as refused:
            await rig.participants.update(ref, b.call_sid, UpdateCommand(muted=True))
        assert refused.value.reason == CALL_GONE
        assert sent_since(rig, before) == [
            ("POST", f"{b.call_sid}.json"),
            ("GET", f"{b.call_sid}.json"),
        ]
        ended = await state(rig, b)
        assert ended.status is ParticipantStatus.COMPLETE
        assert ended.call_status is CallStatus.COMPLETED
        assert ended.leave_reason is LeaveReason.PARTICIPANT_HUNG_UP
        assert not ended.muted, "a refused change is never recorded"
        assert (await state(rig, a)).active


async def test_a_kick_of_a_call_gone_at_the_carrier_ends_it_as_the_carrier_says() -> None:
    async with core_on_twilio() as rig:
        _a, b = await two_connected(rig)
        rig.carrier.holding = True
        rig.carrier.network.hang_up(call_of(rig, b))
        ref = ConferenceRef(ACCOUNT, b.conference_sid)
        with pytest.raises(RollcallError) as refused:
            await rig.participants.delete(ref, b.call_sid, "")
        assert refused.value.reason == CALL_GONE
        ended = await state(rig, b)
        assert ended.leave_reason is LeaveReason.PARTICIPANT_HUNG_UP  # not kicked


async def test_a_quiet_call_is_looked_up_and_ended() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        rig.carrier.holding = True
        rig.carrier.network.hang_up(call_of(rig, b))
        quiet = QuietCalls(rig.participants.core.runtime, 600.0)
        assert await quiet.run() == 0, "not quiet long enough yet"
        clock = rig.participants.core.runtime.clock
        await clock.advance(601.0)  # type: ignore[attr-defined]
        before = len(rig.carrier.requests)
        assert await quiet.run() == 1
        assert sorted(sent_since(rig, before)) == sorted(
            [("GET", f"{a.call_sid}.json"), ("GET", f"{b.call_sid}.json")]
        )
        assert not (await state(rig, b)).active
        assert (await state(rig, a)).active
        before = len(rig.carrier.requests)
        assert await quiet.run() == 0
        assert sent_since(rig, before) == [], "a running call is not looked up again at once"


async def test_end_on_exit_changed_on_hold_is_sent_with_hold() -> None:
    async with core_on_twilio() as rig:
        _a, b = await two_connected(rig)
        ref = ConferenceRef(ACCOUNT, b.conference_sid)
        await rig.participants.update(ref, b.call_sid, UpdateCommand(hold=True))
        before = len(rig.carrier.requests)
        await rig.participants.update(ref, b.call_sid, UpdateCommand(end_conference_on_exit=True))
        (sent,) = rig.carrier.requests[before:]
        assert sent.form == [("Hold", "true"), ("EndConferenceOnExit", "true")]
        assert call_of(rig, b).end_conference_on_exit, "it took effect at the carrier"
        assert call_of(rig, b).hold


def assert_documented(events: list[Event]) -> list[dict[str, str]]:
    sent = []
    for event in events:
        for callback in callbacks_for(event):
            params = {**callback.params, "SequenceNumber": "0"}
            assert documented.undocumented(params) == [], (event.type, params)
            assert documented.missing(params) == [], (event.type, params)
            sent.append(params)
    return sent


async def test_every_callback_carries_what_twilio_documents_for_it() -> None:
    async with core_on_twilio() as rig:
        rig.seen.clear()
        a, b = await two_connected(rig)
        ref = ConferenceRef(ACCOUNT, b.conference_sid)
        await rig.participants.update(ref, b.call_sid, UpdateCommand(muted=True, hold=True))
        await rig.participants.update(ref, b.call_sid, UpdateCommand(beep_on_exit=False))
        await rig.participants.update(ref, b.call_sid, UpdateCommand(announce_url=ANNOUNCE))
        rig.carrier.network.announcement_failure = "Internal error"
        await rig.participants.update(ref, b.call_sid, UpdateCommand(announce_url=ANNOUNCE))
        await rig.carrier.settle()
        rig.carrier.network.hang_up(call_of(rig, b))
        await rig.carrier.settle()
        rig.carrier.network.hang_up(call_of(rig, a))
        await rig.carrier.settle()
        sent = assert_documented(rig.seen)
        words = {p["StatusCallbackEvent"] for p in sent if "StatusCallbackEvent" in p}
        assert words == {
            "participant-join",
            "conference-start",
            "participant-mute",
            "participant-hold",
            "participant-modify",
            "announcement-end",
            "announcement-fail",
            "participant-leave",
            "conference-end",
        }
        (failed,) = [p for p in sent if p.get("StatusCallbackEvent") == "announcement-fail"]
        assert failed["ReasonAnnouncementFailed"] == "Internal error"
        (ended,) = [p for p in sent if p.get("StatusCallbackEvent") == "conference-end"]
        assert ended["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
        # (its label, ParticipantLabelEndingConference, is the dispatcher's to look up)
        assert ended["CallSidEndingConference"] == a.call_sid
        done = [
            p for p in sent if p.get("CallStatus") == "completed" and p["CallSid"] == b.call_sid
        ]
        assert done and done[0]["SipResponseCode"] == "200"
        assert done[0]["Duration"] == "1" and "CallDuration" in done[0]


async def test_late_or_lost_steps_reach_the_tenant_once_and_in_order() -> None:
    async with core_on_twilio() as rig:
        rig.carrier.delivery = "reverse"  # every callback arrives, newest first
        rig.seen.clear()
        p, _ = await rig.participants.create(rig.create_command(status_callback=EVERY_CALL_STEP))
        await rig.carrier.let_time_pass(5)
        rig.carrier.release(reverse=True)
        await rig.carrier.settle()
        sent = assert_documented(rig.seen)
        steps = [(s["CallStatus"], s.get("RollcallImplied")) for s in sent if "CallStatus" in s]
        assert [status for status, _ in steps] == ["initiated", "ringing", "in-progress"]
        assert steps[0][1] == "true" and steps[1][1] == "true" and steps[2][1] is None
        assert (await state(rig, p)).status is ParticipantStatus.CONNECTED


async def test_the_simulator_s_callbacks_carry_what_twilio_documents_too() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        first: dict[str, Any] = {"end_conference_on_exit": True, "label": "agent"}
        second: dict[str, Any] = {}
        made = [
            (await rig.participants.create(command(status_callback=EVERY_CALL_STEP, **kw)))[0]
            for kw in (first, second)
        ]
        await rig.clock.advance(5)
        ref = ConferenceRef(made[0].account_sid, made[0].conference_sid)
        await rig.participants.update(ref, made[1].call_sid, UpdateCommand(muted=True))
        await rig.participants.delete(ref, made[0].call_sid, "")
        await rig.clock.advance(1)
        sent = assert_documented(rig.seen)
        steps = [s["CallStatus"] for s in sent if s.get("CallSid") == made[1].call_sid]
        assert [s for s in steps if s != "completed"] == ["initiated", "ringing", "in-progress"]
        ended = [s for s in sent if s.get("CallStatus") == "completed"]
        (done,) = [s for s in ended if s["CallSid"] == made[1].call_sid]  # ended by end-on-exit
        assert (done["CallDuration"], done["Duration"]) == ("4", "1")


async def test_stored_hold_music_and_announce_method_take_effect_at_the_carrier() -> None:
    async with core_on_twilio() as rig:
        _a, b = await two_connected(rig)
        ref = ConferenceRef(ACCOUNT, b.conference_sid)
        update = rig.participants.update
        before = len(rig.carrier.requests)
        await update(ref, b.call_sid, UpdateCommand(hold_url="https://m/1.mp3", hold_method="POST"))
        assert rig.carrier.requests[before:] == [], "nothing to play yet: kept for the hold"
        await update(ref, b.call_sid, UpdateCommand(hold=True))
        assert rig.carrier.requests[-1].form == [
            ("Hold", "true"),
            ("HoldUrl", "https://m/1.mp3"),
            ("HoldMethod", "POST"),
        ]
        await update(ref, b.call_sid, UpdateCommand(hold_url="https://m/2.mp3"))
        assert rig.carrier.requests[-1].form == [
            ("Hold", "true"),
            ("HoldUrl", "https://m/2.mp3"),
            ("HoldMethod", "POST"),
        ], "new music for a held call is sent with Hold, so it plays now"
        await update(ref, b.call_sid, UpdateCommand(announce_method="GET"))
        await update(ref, b.call_sid, UpdateCommand(announce_url=ANNOUNCE))
        assert rig.carrier.requests[-1].form == [
            ("AnnounceUrl", ANNOUNCE),
            ("AnnounceMethod", "GET"),
        ]
