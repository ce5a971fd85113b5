"""What a carrier's report means for Rollcall's model, decided without I/O.

Rule 1: a report is stale when its SequenceNumber is at or below the last one
        applied in its scope; one without a number, or the first, never is.
Rule 2: a conference event that only confirms the participant's current state
        yields nothing (a change Rollcall caused, echoed back, is not announced
        twice); any other (a mute or hold from elsewhere, a modify, an
        announcement's end) yields the event and values the core emits as usual.
Rule 3: a coaching change from elsewhere is a role change (coaching: a whisper
        to the target Rollcall knows, if any; not coaching: role none), and a
        monitor unmuted from elsewhere is heard by everyone: a barge.
Rule 4: join, leave and the conference's start and end are not decided here:
        they go through the core's conference rules as call progress, with the
        carrier's reasons in the model's words (unknown: hung up, last left).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from service.core.events import EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport
from service.core.records import Participant
from service.core.statuses import EndReason, LeaveReason, Role

_FLAGS: dict[ConferenceEvent, tuple[str, bool, EventType]] = {
    ConferenceEvent.PARTICIPANT_MUTE: ("muted", True, EventType.PARTICIPANT_MUTED),
    ConferenceEvent.PARTICIPANT_UNMUTE: ("muted", False, EventType.PARTICIPANT_UNMUTED),
    ConferenceEvent.PARTICIPANT_HOLD: ("hold", True, EventType.PARTICIPANT_HELD),
    ConferenceEvent.PARTICIPANT_UNHOLD: ("hold", False, EventType.PARTICIPANT_UNHELD),
}
_ANNOUNCEMENTS = {
    ConferenceEvent.ANNOUNCEMENT_END: EventType.ANNOUNCEMENT_ENDED,
    ConferenceEvent.ANNOUNCEMENT_FAIL: EventType.ANNOUNCEMENT_FAILED,
}


@dataclasses.dataclass(frozen=True)
class Observed:
    """A participant change the carrier reports: the event and the new field values."""

    event: EventType
    changes: dict[str, Any]


def is_stale(last_applied: int | None, sequence_number: int | None) -> bool:
    """Whether a report at `sequence_number` is at or behind what was applied.

    A report without a number (read back by reconcile) is never stale, and
    the first numbered one never is either.
    """
    return (
        last_applied is not None and sequence_number is not None and sequence_number <= last_applied
    )


def observe(p: Participant, report: ConferenceReport) -> list[Observed]:
    """The changes to `p` this conference event reports (empty when it confirms `p`)."""
    if report.call_sid != p.call_sid or not p.active:
        return []
    flag = _FLAGS.get(report.event)
    if flag is not None:
        field, value, event = flag
        if getattr(p, field) == value:
            return []
        if report.event is ConferenceEvent.PARTICIPANT_UNMUTE and p.role is Role.MONITOR:
            return [Observed(EventType.PARTICIPANT_ROLE_CHANGED, {"muted": False, **_BARGE})]
        return [Observed(event, {field: value})]
    if report.event is ConferenceEvent.PARTICIPANT_MODIFY:
        changes: dict[str, Any] = {}
        eoe = report.end_conference_on_exit
        if eoe is not None and eoe != p.end_conference_on_exit:
            changes["end_conference_on_exit"] = eoe
        observed = [Observed(EventType.PARTICIPANT_MODIFIED, changes)] if changes else []
        if report.coaching is not None and report.coaching != p.coaching:
            observed.append(Observed(EventType.PARTICIPANT_ROLE_CHANGED, _coaching(p, report)))
        return observed
    announced = _ANNOUNCEMENTS.get(report.event)
    if announced is not None:
        url = report.announce_url or p.announce_url
        failed = announced is EventType.ANNOUNCEMENT_FAILED
        failure = report.announcement_failure if failed else None
        return [Observed(announced, {"announce_url": url, "announcement_failure": failure})]
    return []


_BARGE = {"role": Role.BARGE, "whisper_targets": (), "coaching": False, "call_sid_to_coach": None}


def _coaching(p: Participant, report: ConferenceReport) -> dict[str, Any]:
    """The role a coaching change from elsewhere means (Rule 3)."""
    if not report.coaching:
        return {
            "role": Role.NONE,
            "whisper_targets": (),
            "coaching": False,
            "call_sid_to_coach": None,
        }
    targets = (p.call_sid_to_coach,) if p.call_sid_to_coach else ()
    return {"role": Role.WHISPER, "whisper_targets": targets, "coaching": True}


def leave_reason(report: ConferenceReport) -> LeaveReason:
    """ReasonParticipantLeft in the model's words (hung up when the carrier says nothing known)."""
    try:
        reason = LeaveReason(report.leave_reason or "")
    except ValueError:
        return LeaveReason.PARTICIPANT_HUNG_UP
    return reason if reason is not LeaveReason.NONE else LeaveReason.PARTICIPANT_HUNG_UP


def end_reason(report: ConferenceReport) -> EndReason:
    """ReasonConferenceEnded in the model's words (last participant left when unknown)."""
    try:
        reason = EndReason(report.end_reason or "")
    except ValueError:
        return EndReason.LAST_PARTICIPANT_LEFT
    return reason if reason is not EndReason.NONE else EndReason.LAST_PARTICIPANT_LEFT
