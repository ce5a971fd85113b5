"""A participant's clocks, derived at commit from the change being recorded.

Rule 1: every clock is a total of closed intervals plus the start of the open
        one (`*_since`, None when none is open); its live value is
        `total + (now - since)` while `since` is set, else `total`. Queue time
        runs while the participant is queued, ring time while it is connecting
        or ringing, talk time while it is connected; hold and mute time while
        the flag is set and the participant is active.
Rule 2: the time is the change's own (Changes.now): the injected clock's, or
        the carrier's timestamp for a carrier report, never when a callback
        happened to arrive.
Rule 3: a participant that has left has no interval open: its values are
        final. A change dated before an interval began (a carrier's timestamps
        out of order) counts nothing negative.
Rule 4: `status_since` is when the current status began; the counts count the
        intervals begun (a participant created muted has been muted once).
"""

from __future__ import annotations

from service.core.records import Participant
from service.core.statuses import ParticipantStatus

_PHASE = {
    ParticipantStatus.QUEUED: "queue",
    ParticipantStatus.CONNECTING: "ring",
    ParticipantStatus.RINGING: "ring",
    ParticipantStatus.CONNECTED: "talk",
}
_PHASES = ("queue", "ring", "talk")


def tick(p: Participant, now: float) -> None:
    """Bring p's clocks up to its state as recorded at `now` (Rules 1-4)."""
    phase = _PHASE.get(p.status)
    for name in _PHASES:
        _run(p, name, phase == name, now, count=False)
    _run(p, "hold", p.hold and p.active, now, count=True)
    _run(p, "mute", p.muted and p.active, now, count=True)
    if p.clocked_status != p.status.value:
        p.clocked_status = p.status.value
        p.status_since = now


def _run(p: Participant, name: str, running: bool, now: float, *, count: bool) -> None:
    since: float | None = getattr(p, f"{name}_since")
    if running and since is None:
        setattr(p, f"{name}_since", now)
        if count:
            setattr(p, f"{name}_count", getattr(p, f"{name}_count") + 1)
    elif not running and since is not None:
        total: float = getattr(p, f"{name}_seconds")
        setattr(p, f"{name}_seconds", total + max(now - since, 0.0))
        setattr(p, f"{name}_since", None)


def live(total: float, since: float | None, now: float) -> float:
    """A clock's value at `now` (Rule 1), as a client computes it."""
    return total if since is None else total + max(now - since, 0.0)
