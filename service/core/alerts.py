"""Alerts: a conference's timers, decided without I/O, and the change that fires them.

Rule 1: a conference's rules are fixed when it is created: the first
        participant's, else its account's defaults. Thresholds are seconds;
        0 turns one off.
Rule 2: presence is counted at commit (service.core.presence): how many
        participants are connected, how many are agents, and since when none
        is (`empty_since`, `no_agent_since`).
Rule 3: an alert is due once its condition has held for its threshold: a
        participant on hold (from hold_since), the conference's age (from
        date_created), nobody connected (from empty_since), no agent
        connected (from no_agent_since). Each crossing has a key (a hold by
        its call and hold count, an empty or agentless spell by when it
        began); a key fired is recorded on the conference in the same
        transaction as its CONFERENCE_ALERT event, so it fires once, on any
        replica, after any restart.
Rule 4: `next_due` is when the next alert of a conference can fall due (None:
        none can until something changes), so a scheduler arms one timer.
Rule 5: with `end_conference`, a duration, empty or no-agent alert fired
        also ends the conference (asked again until it has ended).
"""

from __future__ import annotations

from collections.abc import Sequence

from service.core.changes import Changes
from service.core.events import EventType
from service.core.ports.store import WriteTransaction
from service.core.records import Alert, AlertKind, Conference, Participant
from service.core.runtime import Change, Decided

_ENDING = (AlertKind.DURATION, AlertKind.EMPTY, AlertKind.NO_AGENT)


def _candidates(conf: Conference, active: Sequence[Participant]) -> list[tuple[str, Alert]]:
    rules = conf.alerts
    if rules is None or not conf.active:
        return []
    found: list[tuple[str, Alert]] = []
    if rules.hold_seconds:
        for p in active:
            if p.hold_since is not None and p.active:
                alert = Alert(AlertKind.HOLD, rules.hold_seconds, p.hold_since, p.call_sid)
                found.append((f"hold:{p.call_sid}:{p.hold_count}", alert))
    end = rules.end_conference
    if rules.duration_seconds:
        alert = Alert(AlertKind.DURATION, rules.duration_seconds, conf.date_created, None, end)
        found.append(("duration", alert))
    if rules.empty_seconds and conf.empty_since is not None:
        alert = Alert(AlertKind.EMPTY, rules.empty_seconds, conf.empty_since, None, end)
        found.append((f"empty:{conf.empty_since!r}", alert))
    if rules.no_agent_seconds and conf.no_agent_since is not None:
        since = conf.no_agent_since
        alert = Alert(AlertKind.NO_AGENT, rules.no_agent_seconds, since, None, end)
        found.append((f"no-agent:{since!r}", alert))
    return [(key, a) for key, a in found if key not in conf.alerts_fired]


def due(conf: Conference, active: Sequence[Participant], now: float) -> list[tuple[str, Alert]]:
    """Rule 3: the alerts due at `now` and not fired yet, with their keys."""
    return [(k, a) for k, a in _candidates(conf, active) if now >= a.since + a.threshold_seconds]


def next_due(conf: Conference, active: Sequence[Participant]) -> float | None:
    """Rule 4."""
    times = [a.since + a.threshold_seconds for _, a in _candidates(conf, active)]
    return min(times) if times else None


def must_end(conf: Conference) -> bool:
    """Rule 5: an ending alert has fired and the conference is still live."""
    rules = conf.alerts
    if rules is None or not rules.end_conference or not conf.active:
        return False
    return any(key.split(":", 1)[0] in _ENDING for key in conf.alerts_fired)


class FireAlerts(Change[bool]):
    """Fire what is due in one conference; answers whether it must end."""

    def __init__(self, account_sid: str, conference_sid: str, now: float) -> None:
        self.account_sid = account_sid
        self.conference_sid = conference_sid
        self.now = now

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[bool]:
        conf = await tx.conference(self.account_sid, self.conference_sid)
        if conf is None or not conf.active or conf.alerts is None:
            return Decided(False, None)
        active = await tx.active_participants(conf.sid)
        fired = due(conf, active, self.now)
        if not fired:
            return Decided(must_end(conf), None)
        ch = Changes(conf, max(self.now, conf.date_updated))
        conf.alerts_fired = [*conf.alerts_fired, *(key for key, _ in fired)]
        by_sid = {p.call_sid: p for p in active}
        for _, alert in fired:
            ch.emit_alert(alert, by_sid.get(alert.call_sid or ""))
        return Decided(must_end(conf), ch)


EVENT = EventType.CONFERENCE_ALERT
