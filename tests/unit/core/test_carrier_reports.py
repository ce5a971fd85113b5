"""What carrier reports mean for the model: staleness, changes Rollcall did not cause, reasons."""

from __future__ import annotations

import dataclasses

from service.core.carrier_reports import Observed, end_reason, is_stale, leave_reason, observe
from service.core.events import EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport
from service.core.records import Participant
from service.core.statuses import CallStatus, EndReason, LeaveReason, ParticipantStatus, Role

CALL = "CA" + "1" * 32


def participant(**fields: object) -> Participant:
    p = Participant(
        call_sid=CALL, account_sid="AC" + "a" * 32, conference_sid="CF" + "b" * 32,
        conference_friendly_name="room", label=None, status=ParticipantStatus.CONNECTED,
        call_status=CallStatus.IN_PROGRESS, from_endpoint="+1", to_endpoint="+2",
        date_created=0.0, date_updated=0.0, revision=1,
    )  # fmt: skip
    return dataclasses.replace(p, **fields)  # type: ignore[arg-type]


def report(event: ConferenceEvent, **fields: object) -> ConferenceReport:
    values: dict[str, object] = {
        "event": event, "conference_sid": "CF" + "c" * 32, "sequence_number": 4,
        "timestamp": 0.0, "call_sid": CALL,
    }  # fmt: skip
    values.update(fields)
    return ConferenceReport(**values)  # type: ignore[arg-type]


def test_a_report_at_or_behind_the_last_applied_number_is_stale() -> None:
    assert not is_stale(None, 0)
    assert not is_stale(3, 4)
    assert is_stale(4, 4) and is_stale(4, 2)
    assert not is_stale(4, None)  # read back by reconcile: always current


def test_a_mute_rollcall_did_not_cause_becomes_a_change_and_an_echo_does_not() -> None:
    assert observe(participant(), report(ConferenceEvent.PARTICIPANT_MUTE)) == [
        Observed(EventType.PARTICIPANT_MUTED, {"muted": True})
    ]
    assert observe(participant(muted=True), report(ConferenceEvent.PARTICIPANT_MUTE)) == []
    assert observe(participant(muted=True), report(ConferenceEvent.PARTICIPANT_UNMUTE)) == [
        Observed(EventType.PARTICIPANT_UNMUTED, {"muted": False})
    ]
    assert observe(participant(), report(ConferenceEvent.PARTICIPANT_HOLD)) == [
        Observed(EventType.PARTICIPANT_HELD, {"hold": True})
    ]


def test_modify_reports_only_the_fields_that_changed() -> None:
    coached = participant(coaching=True, call_sid_to_coach="CA" + "9" * 32)
    got = observe(
        coached,
        report(ConferenceEvent.PARTICIPANT_MODIFY, coaching=False, end_conference_on_exit=False),
    )
    # Coaching ended elsewhere: the whisper is over, one role change.
    assert got == [
        Observed(
            EventType.PARTICIPANT_ROLE_CHANGED,
            {
                "role": Role.NONE,
                "whisper_targets": (),
                "coaching": False,
                "call_sid_to_coach": None,
            },
        )
    ]
    same = report(ConferenceEvent.PARTICIPANT_MODIFY, coaching=True, end_conference_on_exit=False)
    assert observe(coached, same) == []
    both = report(ConferenceEvent.PARTICIPANT_MODIFY, coaching=True, end_conference_on_exit=True)
    assert observe(participant(), both) == [
        Observed(EventType.PARTICIPANT_MODIFIED, {"end_conference_on_exit": True}),
        Observed(
            EventType.PARTICIPANT_ROLE_CHANGED,
            {"role": Role.WHISPER, "whisper_targets": (), "coaching": True},
        ),
    ]


def test_a_monitor_unmuted_elsewhere_is_heard_by_everyone_a_barge() -> None:
    monitor = participant(role=Role.MONITOR, muted=True)
    assert observe(monitor, report(ConferenceEvent.PARTICIPANT_UNMUTE)) == [
        Observed(
            EventType.PARTICIPANT_ROLE_CHANGED,
            {
                "muted": False,
                "role": Role.BARGE,
                "whisper_targets": (),
                "coaching": False,
                "call_sid_to_coach": None,
            },
        )
    ]


def test_announcements_and_other_participants_and_ended_calls() -> None:
    assert observe(participant(), report(ConferenceEvent.ANNOUNCEMENT_END, announce_url="u")) == [
        Observed(EventType.ANNOUNCEMENT_ENDED, {"announce_url": "u", "announcement_failure": None})
    ]
    failed = report(ConferenceEvent.ANNOUNCEMENT_FAIL, announce_url="u", announcement_failure="x")
    assert observe(participant(), failed) == [
        Observed(EventType.ANNOUNCEMENT_FAILED, {"announce_url": "u", "announcement_failure": "x"})
    ]
    other = report(ConferenceEvent.PARTICIPANT_MUTE, call_sid="CA" + "2" * 32)
    assert observe(participant(), other) == []
    ended = participant(status=ParticipantStatus.COMPLETE)
    assert observe(ended, report(ConferenceEvent.PARTICIPANT_MUTE)) == []
    # Join and leave are call progress: decided by the conference rules, not here.
    assert observe(participant(), report(ConferenceEvent.PARTICIPANT_LEAVE)) == []


def test_leave_and_end_reasons_in_the_models_words() -> None:
    leave = ConferenceEvent.PARTICIPANT_LEAVE
    assert leave_reason(report(leave, leave_reason="participant_updated_via_api")) is (
        LeaveReason.PARTICIPANT_UPDATED_VIA_API
    )
    assert leave_reason(report(leave)) is LeaveReason.PARTICIPANT_HUNG_UP
    assert leave_reason(report(leave, leave_reason="something-new")) is (
        LeaveReason.PARTICIPANT_HUNG_UP
    )
    end = ConferenceEvent.CONFERENCE_END
    assert end_reason(report(end, end_reason="conference-ended-via-api")) is (
        EndReason.CONFERENCE_ENDED_VIA_API
    )
    assert end_reason(report(end)) is EndReason.LAST_PARTICIPANT_LEFT
