"""Conference-wide carrier reports and the carrier's reasons, through the core.

Real SQLite, the simulated carrier on a ManualClock, reports handed to
Participants.on_report as the ingest would: a conference-end ends the
conference with the carrier's reason and ending call and kicks nobody; a
report about an older carrier conference of the same Rollcall conference, a
conference-wide announcement's end when the adapter does not report
announcements, change nothing; the simulator still ends a conference's calls
with one EndConference. Plus the pure parts: the carrier conference name and
its inverse, who leaves why when a conference ends.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.carriers.twilio.forms import conference_name, conference_of
from service.clock import ManualClock
from service.core import rules
from service.core.changes import Changes
from service.core.commands import ConferenceRef
from service.core.conferences import ConferenceUpdate
from service.core.events import EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport
from service.core.statuses import ConferenceStatus, EndReason, LeaveReason, ParticipantStatus
from tests.fakes.core import AC, command
from tests.fakes.core import TestCore as Participants

CF = "CF" + "ab" * 16


def test_conference_names_read_back_only_when_rollcalls() -> None:
    assert conference_of(conference_name(CF)) == CF
    for name in ("", CF, "rollcall-", "rollcall-CFnot-a-sid", "rollcall-CA" + "0" * 32, "x" + CF):
        assert conference_of(name) is None, name


def end_report(conf: str, carrier: str, seq: int, **kw: Any) -> ConferenceReport:
    return ConferenceReport(
        ConferenceEvent.CONFERENCE_END, carrier, seq, 10.0, rollcall_conference=conf, **kw
    )


async def test_a_conference_end_kicks_nobody_and_names_the_ending_call(core: tuple) -> None:
    participants, clock, seen = core
    assert isinstance(participants, Participants)
    carrier = participants.carrier
    assert isinstance(carrier, SimulatedCarrier)
    a, _ = await participants.create(command())
    b, _ = await participants.create(command(to_endpoint="+15551230002"))
    await clock.advance(2)
    seen.clear()
    # The simulator's carrier conference is the Rollcall conference itself.
    sid = a.conference_sid
    report = end_report(
        sid, sid, 9, end_reason="last-participant-kicked", ended_by_call_sid=b.call_sid
    )
    await participants.on_report(report, "e1")
    ref = ConferenceRef(AC, sid)
    conf = await participants.conference(ref)
    assert (conf.status, conf.end_reason) == (
        ConferenceStatus.COMPLETED,
        EndReason.LAST_PARTICIPANT_KICKED,
    )
    assert conf.call_sid_ending_conference == b.call_sid
    left_a = await participants.fetch(ref, a.call_sid, include_ended=True)
    left_b = await participants.fetch(ref, b.call_sid, include_ended=True)
    assert left_a.leave_reason is LeaveReason.PARTICIPANT_HUNG_UP
    assert left_b.leave_reason is LeaveReason.PARTICIPANT_UPDATED_VIA_API
    assert seen == [
        EventType.PARTICIPANT_LEFT,
        EventType.PARTICIPANT_LEFT,
        EventType.CONFERENCE_ENDED,
    ]
    # Nobody was kicked: the (simulated) carrier's calls run on.
    assert carrier.calls_in_flight() == 2


async def test_reports_about_another_carrier_conference_or_unknown_calls_change_little(
    core: tuple,
) -> None:
    participants, clock, seen = core
    a, _ = await participants.create(command())
    await clock.advance(2)
    seen.clear()
    sid = a.conference_sid
    # An older carrier conference once named after it: its late end changes nothing.
    await participants.on_report(end_report(sid, CF, 3, end_reason="last-participant-left"))
    assert (await participants.conference(ConferenceRef(AC, sid))).active
    # A conference announcement's end, when the adapter does not report them: nothing.
    announced = ConferenceReport(
        ConferenceEvent.ANNOUNCEMENT_END, sid, 4, 10.0, rollcall_conference=sid
    )
    await participants.on_report(announced)
    assert seen == []
    # An ending call Rollcall does not know is not named; an unknown reason reads as
    # the last participant leaving.
    stranger = "CA" + "0" * 32
    await participants.on_report(end_report(sid, sid, 5, ended_by_call_sid=stranger))
    conf = await participants.conference(ConferenceRef(AC, sid))
    assert conf.end_reason is EndReason.LAST_PARTICIPANT_LEFT
    assert conf.call_sid_ending_conference is None


async def test_the_simulator_still_ends_every_call_of_an_ended_conference(core: tuple) -> None:
    participants, clock, _ = core
    carrier = participants.carrier
    a, _ = await participants.create(command())
    await participants.create(command(to_endpoint="+15551230002"))
    await clock.advance(2)
    assert carrier.calls_in_flight() == 2
    conferences = participants.conferences
    await conferences.update(ConferenceRef(AC, a.conference_sid), ConferenceUpdate(end=True))
    await clock.advance(0)
    assert carrier.calls_in_flight() == 0


@pytest.mark.parametrize(
    ("reason", "ending", "expected"),
    [
        (EndReason.CONFERENCE_ENDED_VIA_API, False, LeaveReason.CONFERENCE_ENDED_VIA_API),
        (EndReason.EOE_LEFT, False, LeaveReason.MODERATOR_ENDED_CONFERENCE),
        (EndReason.EOE_KICKED, True, LeaveReason.PARTICIPANT_UPDATED_VIA_API),
        (EndReason.EOE_LEFT, True, LeaveReason.PARTICIPANT_HUNG_UP),
        (EndReason.LAST_PARTICIPANT_LEFT, False, LeaveReason.PARTICIPANT_HUNG_UP),
        (EndReason.LAST_PARTICIPANT_KICKED, True, LeaveReason.PARTICIPANT_UPDATED_VIA_API),
    ],
)
async def test_who_leaves_why_when_a_conference_ends(
    core: tuple,
    reason: EndReason,
    ending: bool,
    expected: LeaveReason,
) -> None:
    participants, clock, _ = core
    created, _ = await participants.create(command())
    await clock.advance(2)
    ref = ConferenceRef(AC, created.conference_sid)
    p = await participants.fetch(ref, created.call_sid, include_ended=False)
    conf = await participants.conference(ref)
    ch = Changes(conf, clock.now())
    roster = rules.Roster(1, {p.call_sid: p})
    rules.end_conference(ch, roster, reason, ending=p if ending else None, hang_up=False)
    assert p.status is ParticipantStatus.COMPLETE and p.leave_reason is expected
    assert ch.hangups == []
    assert isinstance(clock, ManualClock)
