"""The alert timers: one per live conference with alert rules, fired by the leader.

Rule 1: every replica follows the conferences with rules: from its own
        commits (the state in each event, at once, so a timer is armed
        before the change's caller hears back), from other replicas' (read
        back from the store) and, at start, from every live conference.
        Each conference gets one timer, at its next due time
        (service.core.alerts.next_due).
Rule 2: a timer that fires where this replica leads fires the alerts
        (service.core.alerts.FireAlerts: durable, once per crossing) and, when
        they say so, ends the conference; where it does not lead, it looks
        again after `retry_seconds` (the leader may be gone by then).
Rule 3: the timers are the only state here, and none is needed across a
        restart: what fired is on the conference row, what is due follows from
        the rows, and start() reads them again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Collection, Coroutine, Sequence
from typing import Any

from service.clock import Clock, Timer
from service.core import alerts
from service.core.assemble import Core
from service.core.commands import ConferenceRef
from service.core.conferences import ConferenceUpdate
from service.core.events import Event
from service.core.ports.store import ParticipantFilter, Store
from service.core.records import AlertRules, Conference, Participant

log = logging.getLogger("rollcall.alerts")

# Conferences without rules remembered at most (Rule 1's reads skipped for them).
_WITHOUT_MAX = 65536


@dataclasses.dataclass
class _Followed:
    account_sid: str
    conference: Conference
    # Active participants on hold, by call SID.
    holding: dict[str, Participant]
    timer: Timer | None = None


def parse_defaults(text: str) -> dict[str, AlertRules]:
    """ROLLCALL_ALERT_DEFAULTS: `;`-separated `ACCOUNT:key=value,...` entries
    (ACCOUNT `*` for every account); keys hold, duration, empty, no_agent
    (seconds), agent (`key=value`), end (true/false). ValueError if bad."""
    found: dict[str, AlertRules] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        account, sep, body = entry.partition(":")
        if not sep or not account:
            raise ValueError(f"alert defaults entry {entry!r}: expected ACCOUNT:key=value,...")
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in body.split(","))):
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"alert defaults {item!r}: expected key=value")
            if key in ("hold", "duration", "empty", "no_agent"):
                try:
                    seconds = float(value)
                except ValueError:
                    seconds = -1.0
                if not 0 <= seconds < float("inf"):
                    raise ValueError(f"alert defaults {item!r}: seconds must be >= 0")
                values[f"{key}_seconds"] = seconds
            elif key == "agent":
                values["agent_attribute"] = value
            elif key == "end":
                if value.lower() not in ("true", "false"):
                    raise ValueError(f"alert defaults {item!r}: end is true or false")
                values["end_conference"] = value.lower() == "true"
            else:
                raise ValueError(f"alert defaults {item!r}: unknown key {key!r}")
        found[account] = AlertRules(**values)  # type: ignore[arg-type]
    return found


class AlertScheduler:
    def __init__(
        self,
        core: Core,
        store: Store,
        clock: Clock,
        leading: Callable[[], bool],
        *,
        retry_seconds: float = 2.0,
    ) -> None:
        self.core = core
        self.store = store
        self.clock = clock
        self.leading = leading
        self.retry_seconds = retry_seconds
        self.followed: dict[str, _Followed] = {}
        # Conferences known to have no rules (they are fixed at creation).
        self.without: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopped = False

    # -- the change feed (Rule 1) ----------------------------------------------

    def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            conf = event.conference
            if conf.alerts is None:
                self._without(conf)
                continue
            self._follow(event.account_sid, conf, event.participant)

    def _without(self, conf: Conference) -> None:
        """Remember a conference without rules while it lives (a cache: bounded)."""
        if not conf.active:
            self.without.discard(conf.sid)
            return
        if len(self.without) >= _WITHOUT_MAX:
            self.without.clear()  # only a cache: the store is read again
        self.without.add(conf.sid)

    def heard(self, conference_sid: str, revision: int) -> None:
        if conference_sid in self.without:
            return
        self._spawn(self._read_back(conference_sid, revision))

    def watching(self) -> Collection[str]:
        return ()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Follow every live conference with rules (Rule 3)."""
        groups: dict[tuple[str, str], list[Participant]] = {}
        for p in await self.store.active_participants_everywhere():
            groups.setdefault((p.account_sid, p.conference_sid), []).append(p)
        for (account_sid, conference_sid), members in groups.items():
            conf = await self.store.conference(account_sid, conference_sid)
            if conf is not None:
                self._replace(account_sid, conf, members)

    async def stop(self) -> None:
        self.stopped = True
        for followed in self.followed.values():
            if followed.timer is not None:
                followed.timer.cancel()
        self.followed.clear()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # -- following -----------------------------------------------------------------

    def _follow(self, account_sid: str, conf: Conference, p: Participant | None) -> None:
        followed = self.followed.get(conf.sid)
        if followed is None:
            followed = self.followed[conf.sid] = _Followed(account_sid, conf, {})
        elif conf.revision < followed.conference.revision:
            return  # an older state than the one held
        followed.conference = conf
        if p is not None:
            if p.active and p.hold_since is not None:
                followed.holding[p.call_sid] = p
            else:
                followed.holding.pop(p.call_sid, None)
        self._arm(followed)

    def _replace(self, account_sid: str, conf: Conference, active: Sequence[Participant]) -> None:
        """Follow `conf` with these active participants, as read from the store."""
        if conf.alerts is None:
            self._without(conf)
            return
        followed = self.followed.get(conf.sid)
        if followed is not None and conf.revision < followed.conference.revision:
            return
        holding = {p.call_sid: p for p in active if p.active and p.hold_since is not None}
        if followed is None:
            followed = self.followed[conf.sid] = _Followed(account_sid, conf, holding)
        followed.conference, followed.holding = conf, holding
        self._arm(followed)

    def _arm(self, followed: _Followed) -> None:
        if followed.timer is not None:
            followed.timer.cancel()
            followed.timer = None
        conf = followed.conference
        if self.stopped:
            return
        if not conf.active:
            self.followed.pop(conf.sid, None)
            return
        if alerts.must_end(conf):
            at: float | None = self.clock.now()
        else:
            at = alerts.next_due(conf, list(followed.holding.values()))
        if at is None:
            return
        sid = conf.sid
        delay = max(at - self.clock.now(), 0.0)
        followed.timer = self.clock.call_later(delay, lambda: self._guarded(self._fire(sid)))

    async def _read_back(self, conference_sid: str, revision: int) -> None:
        followed = self.followed.get(conference_sid)
        account_sid = None if followed is None else followed.account_sid
        if account_sid is None:
            found = await self.store.events(conference_sid, revision - 1, 1)
            if not found:
                return
            account_sid = found[0].account_sid
            if found[0].conference.alerts is None:
                self._without(found[0].conference)
                return
        await self._review(account_sid, conference_sid)

    async def _review(self, account_sid: str, conference_sid: str) -> None:
        conf = await self.store.conference(account_sid, conference_sid)
        if conf is None:
            return
        # A conference holds at most 250 participants: one page.
        page = await self.store.list_participants(
            conference_sid, ParticipantFilter(), page_size=1000
        )
        self._replace(account_sid, conf, page.participants)

    # -- firing (Rule 2) -----------------------------------------------------------

    async def _fire(self, conference_sid: str) -> None:
        followed = self.followed.get(conference_sid)
        if followed is None:
            return
        followed.timer = None
        account_sid = followed.account_sid
        if not self.leading():
            followed.timer = self.clock.call_later(
                self.retry_seconds, lambda: self._guarded(self._fire(conference_sid))
            )
            return
        runtime = self.core.runtime
        fire = alerts.FireAlerts(account_sid, conference_sid, self.clock.now())
        must_end = await runtime.changes.run(lambda: runtime.carry_out(fire))
        if must_end:
            ref = ConferenceRef(account_sid, conference_sid)
            await self.core.conferences.update(ref, ConferenceUpdate(end=True))
        await self._review(account_sid, conference_sid)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        """Run on the clock (awaited by a manual clock); a failure is logged:
        the next commit or start() arms the timer again."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("alert timer failed")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(self._guarded(work))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
