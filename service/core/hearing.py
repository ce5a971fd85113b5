"""Who hears whom in a conference: one pure function of its participants.

Rule 1: only connected participants are in the conference's audio; one
        ringing, queued or ended hears no one and is heard by no one.
Rule 2: a participant on hold hears its hold music, not the conference, and
        is heard by no one.
Rule 3: a muted participant is heard by no one, whatever its role; a monitor
        is heard by no one; a whisper is heard only by its whisper targets;
        none and barge are heard by everyone. Every role hears everyone.
Rule 4: no participant is listed as hearing itself; the lists are sorted by
        call SID, so two derivations of one state compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.core.records import Participant
from service.core.statuses import ParticipantStatus, Role

# Listener call SID -> the call SIDs it hears.
Matrix = dict[str, tuple[str, ...]]


def hearing(participants: Iterable[Participant]) -> Matrix:
    """The matrix for these participants (a conference's, as recorded)."""
    present = sorted(
        (p for p in participants if p.status is ParticipantStatus.CONNECTED),
        key=lambda p: p.call_sid,
    )
    return {
        listener.call_sid: tuple(
            speaker.call_sid for speaker in present if _hears(listener, speaker)
        )
        for listener in present
    }


def heard_by(matrix: Matrix) -> Matrix:
    """The same matrix read the other way: speaker -> who hears it."""
    result: dict[str, list[str]] = {listener: [] for listener in matrix}
    for listener, speakers in matrix.items():
        for speaker in speakers:
            result[speaker].append(listener)
    return {speaker: tuple(sorted(listeners)) for speaker, listeners in result.items()}


def _hears(listener: Participant, speaker: Participant) -> bool:
    if listener.call_sid == speaker.call_sid or listener.hold or speaker.hold:
        return False
    if speaker.muted or speaker.role is Role.MONITOR:
        return False
    if speaker.role is Role.WHISPER:
        return listener.call_sid in speaker.whisper_targets
    return True
