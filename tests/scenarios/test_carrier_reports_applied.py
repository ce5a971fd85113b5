"""Carrier reports through the core (real SQLite, the simulated carrier on a
ManualClock): a conference event Rollcall did not cause becomes a change; a
callback's idempotency token applies it once; an older SequenceNumber
changes nothing; a report from another tenant's upstream touches nothing."""

from __future__ import annotations

from collections.abc import Sequence

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.events import Event, EventType
from service.core.ports.carrier import (
    CallReport,
    ConferenceEvent,
    ConferenceReport,
)
from service.core.statuses import CallStatus, ParticipantStatus
from tests.fakes.core import AC, command, simulated_core
from tests.fakes.core import TestCore as Participants


def mute_event(conference_sid: str, call_sid: str, seq: int, *, muted: bool) -> ConferenceReport:
    event = ConferenceEvent.PARTICIPANT_MUTE if muted else ConferenceEvent.PARTICIPANT_UNMUTE
    return ConferenceReport(event, conference_sid, seq, 10.0, call_sid=call_sid, muted=muted)


async def test_conference_events_deduplicated_ordered_and_tenant_bound(core: tuple) -> None:
    participants, clock, seen = core
    assert isinstance(participants, Participants) and isinstance(clock, ManualClock)
    p, _ = await participants.create(command())
    await clock.advance(2)
    ref = ConferenceRef(AC, p.conference_sid)

    async def muted() -> bool:
        return (await participants.fetch(ref, p.call_sid, include_ended=True)).muted

    seen.clear()
    await participants.on_report(mute_event(p.conference_sid, p.call_sid, 5, muted=True), "t1")
    assert await muted() and seen == [EventType.PARTICIPANT_MUTED]
    # The same callback again (a carrier retry) changes nothing, whatever it says.
    await participants.on_report(mute_event(p.conference_sid, p.call_sid, 6, muted=False), "t1")
    assert await muted() and seen == [EventType.PARTICIPANT_MUTED]
    # An older event arriving late changes nothing.
    await participants.on_report(mute_event(p.conference_sid, p.call_sid, 4, muted=False), "t2")
    assert await muted()
    # Another tenant's upstream account cannot touch this call.
    other = frozenset({"AC" + "b" * 32})
    await participants.on_report(
        mute_event(p.conference_sid, p.call_sid, 7, muted=False), "t3", other
    )
    assert await muted()
    await participants.on_report(mute_event(p.conference_sid, p.call_sid, 8, muted=False), "t4")
    assert not await muted()
    assert seen == [EventType.PARTICIPANT_MUTED, EventType.PARTICIPANT_UNMUTED]


async def test_a_stale_call_report_changes_nothing_a_newer_one_ends_the_call(core: tuple) -> None:
    participants, clock, _ = core
    p, _ = await participants.create(command())
    await clock.advance(2)  # the simulator's own reports: initiated, ringing, in-progress
    ref = ConferenceRef(AC, p.conference_sid)
    # A carrier's callbacks (with tokens) keep their SequenceNumbers.
    answered = CallReport(p.call_sid, CallStatus.IN_PROGRESS, clock.now(), sequence_number=2)
    await participants.on_report(answered, "c0")
    stale = CallReport(p.call_sid, CallStatus.COMPLETED, clock.now(), sequence_number=1)
    await participants.on_report(stale, "c1")
    assert (await participants.fetch(ref, p.call_sid, include_ended=True)).active
    newer = CallReport(p.call_sid, CallStatus.COMPLETED, clock.now(), sequence_number=3)
    await participants.on_report(newer, "c2")
    ended = await participants.fetch(ref, p.call_sid, include_ended=True)
    assert ended.status is ParticipantStatus.COMPLETE


RINGING = CallStatus.RINGING


async def test_steps_taken_at_one_instant_are_one_change_with_an_event_each() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        changes: list[list[tuple[EventType, int, str | None]]] = []

        def record(events: Sequence[Event]) -> None:
            changes.append(
                [
                    (e.type, e.revision, e.participant.status.value if e.participant else None)
                    for e in events
                ]
            )

        rig.participants.subscribe(record)
        p, _ = await rig.participants.create(command())
        # The simulator dials and rings the moment the call is placed: the
        # Create's own change records it, at the next revisions, and still
        # answers queued at its first.
        ((created, *dialed),) = changes
        assert created == (EventType.CALL_STATUS_CHANGED, p.revision, "queued")
        assert dialed == [
            (EventType.CALL_STATUS_CHANGED, created[1] + 1, "connecting"),
            (EventType.CALL_STATUS_CHANGED, created[1] + 2, "ringing"),
        ]
        await rig.clock.advance(0)
        assert len(changes) == 1  # nothing is reported twice
        ref = ConferenceRef(AC, p.conference_sid)
        assert (await rig.participants.fetch(ref, p.call_sid, include_ended=False)).revision == (
            created[1] + 2
        )
        # A carrier that reports ringing and answering together: one change;
        # the second answer starts the conference, which reads the members.
        q, _ = await rig.participants.create(command())
        await rig.clock.advance(0)
        for n, call in enumerate((p, q)):
            both = CallReport(
                call.call_sid,
                CallStatus.IN_PROGRESS,
                rig.clock.now(),
                7,
                passed=(CallStatus.RINGING,),
            )
            await rig.participants.on_report(both, f"joined-{n}")
        assert [kind for kind, _, _ in changes[-2]] == [EventType.PARTICIPANT_JOINED]
        assert [kind for kind, _, _ in changes[-1]] == [
            EventType.PARTICIPANT_JOINED,
            EventType.CONFERENCE_STARTED,
        ]
        conf = await rig.participants.conference(ref)
        assert conf.status.value == "in-progress" and conf.revision == changes[-1][-1][1]
