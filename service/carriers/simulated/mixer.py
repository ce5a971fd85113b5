"""The simulated carrier's conference mixer: who hears whom, from the effects it got.

Rule 1: it keeps the media state of each call the simulated carrier placed,
        as its effects set it (muted, hold, and whom it may be heard by), and
        the matrix that state gives. It is the carrier's own record, kept
        apart from Rollcall's: a test compares the two (service.core.hearing
        derives Rollcall's).
Rule 2: a call is in its conference's audio from its answer until it ends.
Rule 3: a call on hold hears no one and is heard by no one; a muted call is
        heard by no one; a call heard only by some (a whisper; none for a
        monitor) is heard only by those.
Rule 4: PlaceCall sets a call's starting state; Mute, Hold, Coach and
        SetRole change it; MoveCall takes it into another conference with the
        state it gives; nothing else does.
"""

from __future__ import annotations

import dataclasses

from service.core.ports.carrier import (
    Coach,
    MoveCall,
    Mute,
    ParticipantChange,
    PlaceCall,
    SetRole,
)
from service.core.ports.carrier import Hold as HoldChange
from service.core.statuses import Role


@dataclasses.dataclass
class _Leg:
    conference: str
    muted: bool
    hold: bool = False
    # None: everyone in the conference; else only these calls.
    heard_only_by: frozenset[str] | None = None
    answered: bool = False


class Mixer:
    def __init__(self) -> None:
        self._legs: dict[str, _Leg] = {}

    def placed(self, call_sid: str, call: PlaceCall) -> None:
        leg = _Leg(call.conference, call.muted, call.hold)
        leg.heard_only_by = _heard_only_by(call.role, call.whisper_targets)
        self._legs[call_sid] = leg

    def answered(self, call_sid: str) -> None:
        leg = self._legs.get(call_sid)
        if leg is not None:
            leg.answered = True

    def moved(self, move: MoveCall) -> None:
        leg = self._legs.get(move.target.call_sid)
        if leg is None:
            return
        leg.conference, leg.muted, leg.hold = move.conference, move.muted, move.hold
        leg.heard_only_by = _heard_only_by(move.role, move.whisper_targets)

    def ended(self, call_sid: str) -> None:
        self._legs.pop(call_sid, None)

    def change(self, call_sid: str, change: ParticipantChange) -> None:
        leg = self._legs.get(call_sid)
        if leg is None:
            return
        match change:
            case Mute(muted=muted):
                leg.muted = muted
            case HoldChange(hold=hold):
                leg.hold = hold
            case Coach(coaching=coaching, call_sid_to_coach=target):
                leg.heard_only_by = frozenset({target or ""}) if coaching else None
            case SetRole(role=role, whisper_targets=targets, muted=muted):
                leg.muted = muted
                leg.heard_only_by = _heard_only_by(role, targets)

    def hearing(self, conference: str) -> dict[str, tuple[str, ...]]:
        """Listener -> the calls it hears, for the calls in `conference`'s audio."""
        present = sorted(
            sid for sid, leg in self._legs.items() if leg.conference == conference and leg.answered
        )
        return {
            listener: tuple(s for s in present if self._hears(listener, s)) for listener in present
        }

    def _hears(self, listener: str, speaker: str) -> bool:
        heard, hearing = self._legs[speaker], self._legs[listener]
        if listener == speaker or heard.muted or heard.hold or hearing.hold:
            return False
        return heard.heard_only_by is None or listener in heard.heard_only_by


def _heard_only_by(role: Role, targets: tuple[str, ...]) -> frozenset[str] | None:
    if role is Role.MONITOR:
        return frozenset()
    if role is Role.WHISPER:
        return frozenset(targets)
    return None
