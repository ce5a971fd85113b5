"""Carrier reports through the core (real SQLite, the simulated telephony on a
ManualClock): a conference event Rollcall did not cause becomes a change; a
callback's idempotency token applies it once; an older SequenceNumber
changes nothing; a report from another tenant's upstream touches nothing."""

from __future__ import annotations

from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.model import EventType, ParticipantStatus
from service.core.ports.telephony import (
    CallReport,
    CallStatus,
    ConferenceEvent,
    ConferenceReport,
)
from service.core.usecases import Participants
from tests.unit.test_rules import AC, command, core  # noqa: F401 (fixture)


def mute_event(conference_sid: str, call_sid: str, seq: int, *, muted: bool) -> ConferenceReport:
    event = ConferenceEvent.PARTICIPANT_MUTE if muted else ConferenceEvent.PARTICIPANT_UNMUTE
    return ConferenceReport(event, conference_sid, seq, 10.0, call_sid=call_sid, muted=muted)


async def test_conference_events_deduplicated_ordered_and_tenant_bound(core: tuple) -> None:  # noqa: F811
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


async def test_a_stale_call_report_changes_nothing_a_newer_one_ends_the_call(core: tuple) -> None:  # noqa: F811
    participants, clock, _ = core
    p, _ = await participants.create(command())
    await clock.advance(2)  # initiated 0, ringing 1, in-progress 2
    ref = ConferenceRef(AC, p.conference_sid)
    stale = CallReport(p.call_sid, CallStatus.COMPLETED, clock.now(), sequence_number=1)
    await participants.on_report(stale, "c1")
    assert (await participants.fetch(ref, p.call_sid, include_ended=True)).active
    newer = CallReport(p.call_sid, CallStatus.COMPLETED, clock.now(), sequence_number=3)
    await participants.on_report(newer, "c2")
    ended = await participants.fetch(ref, p.call_sid, include_ended=True)
    assert ended.status is ParticipantStatus.COMPLETE
