"""Conference rules through the use cases, on the in-memory store and the
simulated carrier driven by a manual clock (no gRPC); the `core` fixture is
tests/scenarios/conftest.py's."""

from __future__ import annotations

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core import errors
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.events import EventType
from service.core.ports.carrier import Report
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
)
from service.store.memory.store import MemoryStore
from tests.fakes.core import AC, command
from tests.fakes.core import TestCore as Participants


async def test_status_progression_and_conference_start(core: tuple) -> None:
    participants, clock, seen = core
    a, _ = await participants.create(command())
    b, _ = await participants.create(command(start_conference_on_enter=False))
    await clock.advance(1)
    conf = await participants.conference(ConferenceRef(AC, a.conference_sid))
    assert conf.status is ConferenceStatus.IN_PROGRESS
    assert seen.count(EventType.PARTICIPANT_JOINED) == 2
    assert seen[-1] is EventType.CONFERENCE_STARTED
    del b


async def test_no_start_without_start_conference_on_enter(core: tuple) -> None:
    participants, clock, _ = core
    a, _ = await participants.create(command(start_conference_on_enter=False))
    await participants.create(command(start_conference_on_enter=False))
    await clock.advance(1)
    conf = await participants.conference(ConferenceRef(AC, a.conference_sid))
    assert conf.status is ConferenceStatus.INIT


async def test_one_event_per_revision(core: tuple) -> None:
    participants, clock, _ = core
    a, _ = await participants.create(command())
    await clock.advance(1)
    events = await participants.store.events(a.conference_sid, 0, 100)
    assert [e.revision for e in events] == [1, 2, 3, 4]
    assert [e.participant.status for e in events if e.participant] == [
        ParticipantStatus.QUEUED,
        ParticipantStatus.CONNECTING,
        ParticipantStatus.RINGING,
        ParticipantStatus.CONNECTED,
    ]


async def test_end_on_exit_left_ends_conference(core: tuple) -> None:
    participants, clock, _ = core
    host, _ = await participants.create(command(end_conference_on_exit=True, time_limit=5))
    guest, _ = await participants.create(command())
    await clock.advance(6)  # host's time limit: it hangs up
    conf = await participants.conference(ConferenceRef(AC, host.conference_sid))
    assert conf.status is ConferenceStatus.COMPLETED
    assert conf.end_reason is EndReason.EOE_LEFT
    assert conf.call_sid_ending_conference == host.call_sid
    g = await participants.fetch(
        ConferenceRef(AC, host.conference_sid), guest.call_sid, include_ended=True
    )
    assert g.status is ParticipantStatus.COMPLETE
    assert g.leave_reason is LeaveReason.MODERATOR_ENDED_CONFERENCE
    assert participants.carrier.calls_in_flight() == 0


async def test_kick_before_answer_cancels_the_call(core: tuple) -> None:
    participants, _, _ = core
    p, _ = await participants.create(command())
    gone = await participants.delete(ConferenceRef(AC, p.conference_sid), p.call_sid, "")
    assert gone.status is ParticipantStatus.FAILED
    assert gone.call_status is CallStatus.CANCELED
    conf = await participants.conference(ConferenceRef(AC, p.conference_sid))
    assert conf.end_reason is EndReason.LAST_PARTICIPANT_KICKED


async def test_update_events_in_order(core: tuple) -> None:
    participants, _, seen = core
    p, _ = await participants.create(command())
    seen.clear()
    ref = ConferenceRef(AC, p.conference_sid)
    await participants.update(
        ref,
        p.call_sid,
        UpdateCommand(muted=True, hold=True, beep_on_exit=False, announce_url="https://e.com/a"),
    )
    assert seen == [
        EventType.PARTICIPANT_MUTED,
        EventType.PARTICIPANT_HELD,
        EventType.PARTICIPANT_MODIFIED,
        EventType.ANNOUNCEMENT_ENDED,
    ]


async def test_failed_update_changes_nothing(core: tuple) -> None:
    participants, _, seen = core
    created, _ = await participants.create(command())
    ref = ConferenceRef(AC, created.conference_sid)
    p = await participants.fetch(ref, created.call_sid, include_ended=False)
    seen.clear()
    with pytest.raises(errors.RollcallError):
        await participants.update(ref, p.call_sid, UpdateCommand(muted=True, coaching=True))
    after = await participants.fetch(ref, p.call_sid, include_ended=False)
    assert not after.muted and after.revision == p.revision and seen == []


async def test_recover_fails_unanswered_and_resumes_answered() -> None:
    clock = ManualClock()
    store = MemoryStore()
    await store.open()

    async def sink(report: Report) -> None:
        await participants.on_report(report)

    dialer = SimulatedCarrier(clock, sink, ring_seconds=1.0, calls_per_second=0)
    participants = Participants(store, dialer, clock)
    answered, _ = await participants.create(command(time_limit=100))
    await clock.advance(1)
    ringing, _ = await participants.create(command())
    await clock.advance(0)
    await dialer.close()  # the process "dies": its timers are gone
    dialer2 = SimulatedCarrier(clock, sink, ring_seconds=1.0, calls_per_second=0)
    participants = Participants(store, dialer2, clock)
    assert await participants.recover() == (1, 1)
    ref = ConferenceRef(AC, answered.conference_sid)
    r = await participants.fetch(ref, ringing.call_sid, include_ended=True)
    assert (r.status, r.leave_reason) == (
        ParticipantStatus.FAILED,
        LeaveReason.PARTICIPANT_ADD_FAILED,
    )
    await clock.advance(100)
    a = await participants.fetch(ref, answered.call_sid, include_ended=True)
    assert a.status is ParticipantStatus.COMPLETE
    await dialer2.close()
    await store.close()
