"""Conference rules that move participants and conferences between states (Twilio's semantics).

Rule 1: a participant goes queued -> connecting -> ringing -> connected ->
complete or failed, driven by its call's statuses as the carrier reports them.
Rule 2: a conference starts once two participants are connected and one of
them has startConferenceOnEnter; it ends when its last participant leaves or
an endConferenceOnExit participant leaves, and every other participant is
then removed.
Rule 3: a carrier's reasons (why a participant left, why its conference
ended), when it gives them, stand in for Rollcall's guesses.
Rule 4: no I/O: a change first reads what `needs` says (the Roster), then
these functions decide from those values and emit into Changes, which the use
case writes afterwards.
Rule 5: what a rule of Rollcall's does on its own (an end-on-exit departure
ending the conference, the last departure ending it) is emitted naming that
rule (service.core.actors), so the audit trail tells it from the actor's act.
"""

from __future__ import annotations

import dataclasses
import enum

from service.core import actors
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


class Need(enum.Enum):
    """What a change must read about the conference's active participants."""

    NOTHING = "nothing"
    COUNT = "count"
    MEMBERS = "members"


@dataclasses.dataclass
class Roster:
    """The conference's active participants as the change read them: always
    their number (when read), and who they are when a rule needs that."""

    count: int = 0
    members: dict[str, Participant] | None = None

    def joined(self, p: Participant) -> None:
        self.count += 1
        if self.members is not None:
            self.members[p.call_sid] = p

    def left(self, p: Participant) -> None:
        self.count -= 1
        if self.members is not None:
            self.members.pop(p.call_sid, None)

    def current(self, p: Participant) -> None:
        """`p` (read on its own) is the one the rules change."""
        if self.members is not None and p.call_sid in self.members:
            self.members[p.call_sid] = p


def needs(conf: Conference, p: Participant, step: CallStatus | None) -> Need:
    """What a status of p's call (None: a kick) needs read before deciding."""
    if not p.active or not conf.active or (step is not None and step.dialing):
        return Need.NOTHING
    if step is CallStatus.IN_PROGRESS:
        starting = (
            conf.status is ConferenceStatus.INIT and p.status is not ParticipantStatus.CONNECTED
        )
        return Need.MEMBERS if starting else Need.NOTHING
    # Leaving: an endConferenceOnExit participant who was in removes everyone.
    if p.end_conference_on_exit and p.status is ParticipantStatus.CONNECTED:
        return Need.MEMBERS
    return Need.COUNT


def apply_progress(
    ch: Changes,
    roster: Roster,
    p: Participant,
    status: CallStatus,
    *,
    reason: LeaveReason | None = None,
) -> None:
    """A status of the participant's call, as the carrier reported it.

    reason: why a completed call left, when the carrier says (its
    ReasonParticipantLeft); Rollcall's guess, participant_hung_up, otherwise.
    A participant the carrier reports removed via its API counts as kicked.
    """
    if not p.active:
        return
    roster.current(p)
    if status in (CallStatus.QUEUED, CallStatus.INITIATED):
        if p.status is ParticipantStatus.QUEUED:
            p.status = ParticipantStatus.CONNECTING
            _stepped(p, "initiated")
            ch.emit(EventType.CALL_STATUS_CHANGED, p)
    elif status is CallStatus.RINGING:
        if p.status in (ParticipantStatus.QUEUED, ParticipantStatus.CONNECTING):
            p.status = ParticipantStatus.RINGING
            p.call_status = CallStatus.RINGING
            _stepped(p, "ringing")
            ch.emit(EventType.CALL_STATUS_CHANGED, p)
    elif status is CallStatus.IN_PROGRESS:
        if p.status is not ParticipantStatus.CONNECTED:
            p.status = ParticipantStatus.CONNECTED
            p.call_status = CallStatus.IN_PROGRESS
            p.answered_at = ch.now
            _stepped(p, "answered")
            ch.emit(EventType.PARTICIPANT_JOINED, p)
            maybe_start(ch, roster)
    elif status is CallStatus.COMPLETED:
        was_connected = p.status is ParticipantStatus.CONNECTED
        why = reason or LeaveReason.PARTICIPANT_HUNG_UP
        _leave(ch, roster, p, why, hang_up=False)
        kicked = why is LeaveReason.PARTICIPANT_UPDATED_VIA_API
        after_leave(ch, roster, p, was_connected=was_connected, kicked=kicked)
    else:  # busy, no-answer, failed, canceled: the call never joined
        p.call_status = status
        _leave(ch, roster, p, LeaveReason.PARTICIPANT_ADD_FAILED, hang_up=False)
        after_leave(ch, roster, p, was_connected=False, kicked=False)


def _stepped(p: Participant, word: str) -> None:
    """Record a call-progress step taken (what the tenant's callbacks imply)."""
    p.progress = [*(p.progress or ()), word]


def kick(ch: Changes, roster: Roster, p: Participant) -> None:
    """Delete: remove the participant from the conference. Its own call is
    ended by the caller at the carrier before the commit (the carrier goes
    first, and can refuse); the calls its leaving ends are hung up after."""
    roster.current(p)
    was_connected = p.status is ParticipantStatus.CONNECTED
    _leave(ch, roster, p, LeaveReason.PARTICIPANT_UPDATED_VIA_API, hang_up=False)
    after_leave(ch, roster, p, was_connected=was_connected, kicked=True)


def _leave(
    ch: Changes,
    roster: Roster,
    p: Participant,
    reason: LeaveReason,
    *,
    hang_up: bool,
    rule: str = "",
) -> None:
    connected = p.status is ParticipantStatus.CONNECTED
    p.status = ParticipantStatus.COMPLETE if connected else ParticipantStatus.FAILED
    if connected:
        p.call_status = CallStatus.COMPLETED
    elif p.call_status in (CallStatus.QUEUED, CallStatus.RINGING):
        p.call_status = CallStatus.CANCELED
    p.leave_reason = reason
    p.ended_at = ch.now
    roster.left(p)
    ch.emit(EventType.PARTICIPANT_LEFT, p, rule=rule)
    if hang_up:
        ch.hangups.append(p.call_sid)


def after_leave(
    ch: Changes, roster: Roster, p: Participant, *, was_connected: bool, kicked: bool
) -> None:
    """End the conference if this departure ends it (Twilio's two rules)."""
    conf = ch.conference
    if not conf.active:
        return
    if p.leave_reason is LeaveReason.CONFERENCE_ENDED_VIA_API:
        # The carrier's word: it ended the conference via its API. The others'
        # leaves (or its conference-end) follow; the last one ends it here.
        if roster.count == 0:
            end_conference(ch, roster, EndReason.CONFERENCE_ENDED_VIA_API, ending=None)
    elif p.end_conference_on_exit and was_connected:
        assert roster.members is not None, "needs() asks for the members here"
        reason = EndReason.EOE_KICKED if kicked else EndReason.EOE_LEFT
        end_conference(ch, roster, reason, ending=p)
    elif roster.count == 0:
        reason = EndReason.LAST_PARTICIPANT_KICKED if kicked else EndReason.LAST_PARTICIPANT_LEFT
        end_conference(ch, roster, reason, ending=p)


def end_conference(
    ch: Changes,
    roster: Roster,
    reason: EndReason,
    *,
    ending: Participant | None,
    hang_up: bool = True,
) -> None:
    """End the conference; every participant still in it leaves first.

    hang_up=False: the carrier has already ended their calls (it ended the
    conference), so none is kicked after the commit.
    """
    rule = _RULES.get(reason, "")
    for other in list((roster.members or {}).values()):
        why = _left_because(reason, other, ending)
        _leave(ch, roster, other, why, hang_up=hang_up, rule=rule)
    conf = ch.conference
    conf.status = ConferenceStatus.COMPLETED
    conf.end_reason = reason
    conf.call_sid_ending_conference = None if ending is None else ending.call_sid
    ch.emit(EventType.CONFERENCE_ENDED, rule=rule)


# The rule of Rollcall's an end reason names (Rule 5); a conference ended via
# the API is its actor's act.
_RULES = {
    EndReason.EOE_KICKED: actors.END_ON_EXIT,
    EndReason.EOE_LEFT: actors.END_ON_EXIT,
    EndReason.LAST_PARTICIPANT_KICKED: actors.LAST_PARTICIPANT_LEFT,
    EndReason.LAST_PARTICIPANT_LEFT: actors.LAST_PARTICIPANT_LEFT,
}


def _left_because(reason: EndReason, p: Participant, ending: Participant | None) -> LeaveReason:
    """Why a participant still in a conference that ends leaves it.

    Rollcall's own rules end a conference with others still in it only via
    the API or by an endConferenceOnExit participant; the carrier's
    conference-end may also arrive before the leaves it followed (the last
    participant's reasons: they had left, or the ending one was kicked).
    """
    if reason is EndReason.CONFERENCE_ENDED_VIA_API:
        return LeaveReason.CONFERENCE_ENDED_VIA_API
    is_ending = ending is not None and ending.call_sid == p.call_sid
    kicked = reason in (EndReason.EOE_KICKED, EndReason.LAST_PARTICIPANT_KICKED)
    if is_ending:
        return (
            LeaveReason.PARTICIPANT_UPDATED_VIA_API if kicked else LeaveReason.PARTICIPANT_HUNG_UP
        )
    if reason in (EndReason.EOE_KICKED, EndReason.EOE_LEFT):
        return LeaveReason.MODERATOR_ENDED_CONFERENCE
    return LeaveReason.PARTICIPANT_HUNG_UP


def maybe_start(ch: Changes, roster: Roster) -> None:
    conf = ch.conference
    if conf.status is not ConferenceStatus.INIT:
        return
    assert roster.members is not None, "needs() asks for the members here"
    connected = [p for p in roster.members.values() if p.status is ParticipantStatus.CONNECTED]
    if len(connected) >= 2 and any(p.start_conference_on_enter for p in connected):
        conf.status = ConferenceStatus.IN_PROGRESS
        ch.emit(EventType.CONFERENCE_STARTED)
