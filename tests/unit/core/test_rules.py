"""The conference rules as pure decisions: given the values a change read
(the conference, the participant, the Roster), they emit events and name the
calls to hang up, with no store at all."""

from __future__ import annotations

from typing import Any

from service.core import rules
from service.core.changes import Changes
from service.core.events import EventType
from service.core.records import Conference, Participant
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
)

AC = "AC" + "a" * 32


def conference(status: ConferenceStatus = ConferenceStatus.INIT) -> Conference:
    return Conference(
        sid="CF" + "1" * 32,
        account_sid=AC,
        friendly_name="room",
        status=status,
        revision=10,
        max_participants=250,
        date_created=0.0,
        date_updated=0.0,
    )


def participant(n: int, status: ParticipantStatus, **fields: Any) -> Participant:
    values: dict[str, Any] = {
        "call_sid": f"CA{n:032d}",
        "account_sid": AC,
        "conference_sid": "CF" + "1" * 32,
        "conference_friendly_name": "room",
        "label": None,
        "status": status,
        "call_status": (
            CallStatus.IN_PROGRESS if status is ParticipantStatus.CONNECTED else CallStatus.QUEUED
        ),
        "from_endpoint": "+15005550006",
        "to_endpoint": "+15551234567",
        "date_created": 0.0,
        "date_updated": 0.0,
        "revision": 1,
    }
    values.update(fields)
    return Participant(**values)


def roster(*members: Participant) -> rules.Roster:
    return rules.Roster(len(members), {m.call_sid: m for m in members})


def test_what_a_change_must_read() -> None:
    init, live = conference(), conference(ConferenceStatus.IN_PROGRESS)
    queued = participant(1, ParticipantStatus.QUEUED)
    moderator = participant(2, ParticipantStatus.CONNECTED, end_conference_on_exit=True)
    plain = participant(3, ParticipantStatus.CONNECTED)
    assert rules.needs(init, queued, CallStatus.RINGING) is rules.Need.NOTHING
    assert rules.needs(init, queued, CallStatus.IN_PROGRESS) is rules.Need.MEMBERS
    assert rules.needs(live, queued, CallStatus.IN_PROGRESS) is rules.Need.NOTHING
    assert rules.needs(live, plain, CallStatus.COMPLETED) is rules.Need.COUNT
    assert rules.needs(live, plain, None) is rules.Need.COUNT
    assert rules.needs(live, moderator, None) is rules.Need.MEMBERS
    assert rules.needs(conference(ConferenceStatus.COMPLETED), plain, None) is rules.Need.NOTHING


def test_second_connected_participant_starts_the_conference() -> None:
    first = participant(1, ParticipantStatus.CONNECTED)
    second = participant(2, ParticipantStatus.RINGING)
    ch = Changes(conference(), 5.0)
    rules.apply_progress(ch, roster(first, second), second, CallStatus.IN_PROGRESS)
    assert [e.type for e in ch.events] == [
        EventType.PARTICIPANT_JOINED,
        EventType.CONFERENCE_STARTED,
    ]
    assert [e.revision for e in ch.events] == [11, 12]
    assert ch.conference.status is ConferenceStatus.IN_PROGRESS
    assert second.answered_at == 5.0


def test_no_start_without_start_conference_on_enter() -> None:
    first = participant(1, ParticipantStatus.CONNECTED, start_conference_on_enter=False)
    second = participant(2, ParticipantStatus.RINGING, start_conference_on_enter=False)
    ch = Changes(conference(), 5.0)
    rules.apply_progress(ch, roster(first, second), second, CallStatus.IN_PROGRESS)
    assert [e.type for e in ch.events] == [EventType.PARTICIPANT_JOINED]


def test_last_one_hanging_up_ends_the_conference() -> None:
    only = participant(1, ParticipantStatus.CONNECTED)
    ch = Changes(conference(ConferenceStatus.IN_PROGRESS), 9.0)
    rules.apply_progress(ch, rules.Roster(1), only, CallStatus.COMPLETED)
    assert [e.type for e in ch.events] == [EventType.PARTICIPANT_LEFT, EventType.CONFERENCE_ENDED]
    assert only.leave_reason is LeaveReason.PARTICIPANT_HUNG_UP
    assert ch.conference.end_reason is EndReason.LAST_PARTICIPANT_LEFT
    assert ch.hangups == []


def test_a_failed_call_leaves_with_participant_add_failed() -> None:
    ringing = participant(1, ParticipantStatus.RINGING, call_status=CallStatus.RINGING)
    other = participant(2, ParticipantStatus.CONNECTED)
    ch = Changes(conference(ConferenceStatus.IN_PROGRESS), 9.0)
    rules.apply_progress(ch, rules.Roster(2), ringing, CallStatus.BUSY)
    assert [e.type for e in ch.events] == [EventType.PARTICIPANT_LEFT]
    assert ringing.status is ParticipantStatus.FAILED
    assert ringing.call_status is CallStatus.BUSY
    assert ringing.leave_reason is LeaveReason.PARTICIPANT_ADD_FAILED
    del other


def test_kicking_an_end_on_exit_participant_removes_everyone() -> None:
    moderator = participant(1, ParticipantStatus.CONNECTED, end_conference_on_exit=True)
    a = participant(2, ParticipantStatus.CONNECTED)
    b = participant(3, ParticipantStatus.RINGING, call_status=CallStatus.RINGING)
    ch = Changes(conference(ConferenceStatus.IN_PROGRESS), 9.0)
    rules.kick(ch, roster(moderator, a, b), moderator)
    assert [e.type for e in ch.events] == [
        EventType.PARTICIPANT_LEFT,
        EventType.PARTICIPANT_LEFT,
        EventType.PARTICIPANT_LEFT,
        EventType.CONFERENCE_ENDED,
    ]
    # The kicked call is ended before the commit by Delete; the others after.
    assert ch.hangups == [a.call_sid, b.call_sid]
    assert ch.conference.end_reason is EndReason.EOE_KICKED
    assert ch.conference.call_sid_ending_conference == moderator.call_sid
    assert a.leave_reason is LeaveReason.MODERATOR_ENDED_CONFERENCE
    assert b.call_status is CallStatus.CANCELED
    assert [e.revision for e in ch.events] == [11, 12, 13, 14]
