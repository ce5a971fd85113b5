"""Conference rules that move participants and conferences between states.

The rules it keeps (Twilio's semantics): status goes queued
-> connecting -> ringing -> connected -> complete or failed, driven by the
dialer; the conference starts once two participants are connected and one of
them has startConferenceOnEnter; it ends when its last participant leaves or
when an endConferenceOnExit participant leaves, and then every other
participant is removed. These functions only decide and emit; they do no I/O
beyond the transaction they are given.
"""

from __future__ import annotations

from service.core.changes import Changes
from service.core.model import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    EventType,
    LeaveReason,
    Participant,
    ParticipantStatus,
)
from service.core.ports.dialer import CallProgress

_FAILED_CALL = {
    CallProgress.BUSY: CallStatus.BUSY,
    CallProgress.NO_ANSWER: CallStatus.NO_ANSWER,
    CallProgress.FAILED: CallStatus.FAILED,
    CallProgress.CANCELED: CallStatus.CANCELED,
}


async def apply_progress(ch: Changes, p: Participant, progress: CallProgress) -> None:
    """A step of the participant's call, as the dialer reported it."""
    if not p.active:
        return
    if progress is CallProgress.INITIATED:
        if p.status is ParticipantStatus.QUEUED:
            p.status = ParticipantStatus.CONNECTING
            await ch.emit(EventType.CALL_STATUS_CHANGED, p)
    elif progress is CallProgress.RINGING:
        if p.status in (ParticipantStatus.QUEUED, ParticipantStatus.CONNECTING):
            p.status = ParticipantStatus.RINGING
            p.call_status = CallStatus.RINGING
            await ch.emit(EventType.CALL_STATUS_CHANGED, p)
    elif progress is CallProgress.ANSWERED:
        if p.status is not ParticipantStatus.CONNECTED:
            p.status = ParticipantStatus.CONNECTED
            p.call_status = CallStatus.IN_PROGRESS
            p.answered_at = ch.now
            await ch.emit(EventType.PARTICIPANT_JOINED, p)
            await maybe_start(ch)
    elif progress is CallProgress.COMPLETED:
        was_connected = p.status is ParticipantStatus.CONNECTED
        await _leave(ch, p, LeaveReason.PARTICIPANT_HUNG_UP, hang_up=False)
        await after_leave(ch, p, was_connected=was_connected, kicked=False)
    else:
        p.call_status = _FAILED_CALL[progress]
        await _leave(ch, p, LeaveReason.PARTICIPANT_ADD_FAILED, hang_up=False)
        await after_leave(ch, p, was_connected=False, kicked=False)


async def kick(ch: Changes, p: Participant) -> None:
    """Delete: remove the participant from the conference; its call ends."""
    was_connected = p.status is ParticipantStatus.CONNECTED
    await _leave(ch, p, LeaveReason.PARTICIPANT_UPDATED_VIA_API, hang_up=True)
    await after_leave(ch, p, was_connected=was_connected, kicked=True)


async def _leave(ch: Changes, p: Participant, reason: LeaveReason, *, hang_up: bool) -> None:
    connected = p.status is ParticipantStatus.CONNECTED
    p.status = ParticipantStatus.COMPLETE if connected else ParticipantStatus.FAILED
    if connected:
        p.call_status = CallStatus.COMPLETED
    elif p.call_status in (CallStatus.QUEUED, CallStatus.RINGING):
        p.call_status = CallStatus.CANCELED
    p.leave_reason = reason
    p.ended_at = ch.now
    await ch.emit(EventType.PARTICIPANT_LEFT, p)
    if hang_up:
        ch.hangups.append(p.call_sid)


async def after_leave(ch: Changes, p: Participant, *, was_connected: bool, kicked: bool) -> None:
    """End the conference if this departure ends it (Twilio's two rules)."""
    conf = ch.conference
    if not conf.active:
        return
    if p.end_conference_on_exit and was_connected:
        reason = EndReason.EOE_KICKED if kicked else EndReason.EOE_LEFT
        remaining = await ch.tx.active_participants(conf.sid)
        await end_conference(ch, reason, remaining, ending=p)
    elif await ch.tx.count_active(conf.sid) == 0:
        reason = EndReason.LAST_PARTICIPANT_KICKED if kicked else EndReason.LAST_PARTICIPANT_LEFT
        await end_conference(ch, reason, [], ending=p)


async def end_conference(
    ch: Changes, reason: EndReason, remaining: list[Participant], *, ending: Participant | None
) -> None:
    leave_reason = (
        LeaveReason.CONFERENCE_ENDED_VIA_API
        if reason is EndReason.CONFERENCE_ENDED_VIA_API
        else LeaveReason.MODERATOR_ENDED_CONFERENCE
    )
    for other in remaining:
        await _leave(ch, other, leave_reason, hang_up=True)
    conf = ch.conference
    conf.status = ConferenceStatus.COMPLETED
    conf.end_reason = reason
    conf.call_sid_ending_conference = None if ending is None else ending.call_sid
    await ch.emit(EventType.CONFERENCE_ENDED)


async def maybe_start(ch: Changes) -> None:
    conf = ch.conference
    if conf.status is not ConferenceStatus.INIT:
        return
    connected = [
        p
        for p in await ch.tx.active_participants(conf.sid)
        if p.status is ParticipantStatus.CONNECTED
    ]
    if len(connected) >= 2 and any(p.start_conference_on_enter for p in connected):
        conf.status = ConferenceStatus.IN_PROGRESS
        await ch.emit(EventType.CONFERENCE_STARTED)
