"""Background maintenance: the retention pass on a timer, and what maintenance reports.

Rule 1: a pass runs every `interval` seconds of the service's clock, the next
        one scheduled when the last has ended (passes never overlap), and
        only where `leading()` says so (on PostgreSQL, the replica holding
        the lease: one pass across all replicas).
Rule 2: a failed pass is logged and the next one runs as scheduled; what it
        removed is counted per kind (rollcall_retention_removed_total) and
        logged once per pass that removed anything.
Rule 3: every maintenance task (retention, compaction) runs inside
        `running(task)`: counted when it starts and shown as running until it
        ends, so a dashboard (or bench/soak.py) can tell the moments when it
        ran from those when it did not.
Rule 4: after the retention pass, the same replica looks up the open calls
        that have gone quiet at the carrier (service.core.lost_calls), so it
        is done once across replicas and at least every pass interval.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from prometheus_client import Counter, Gauge

from service.clock import Clock, Timer
from service.config import Settings, parse_account_seconds
from service.core.lost_calls import QuietCalls
from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.store import Store
from service.core.privacy import PersonalRetention, Privacy
from service.core.retention import Kind, Retention, Windows
from service.metrics import REGISTRY

log = logging.getLogger("rollcall.retention")

REMOVED = Counter(
    "rollcall_retention_removed_total",
    "Rows the retention pass removed, by kind.",
    ["kind"],
    registry=REGISTRY,
)
STARTED = Counter(
    "rollcall_maintenance_runs_total",
    "Maintenance runs started (retention passes, event compactions), by task.",
    ["task"],
    registry=REGISTRY,
)
RUNNING = Gauge(
    "rollcall_maintenance_running",
    "Maintenance runs in progress in this process, by task.",
    ["task"],
    registry=REGISTRY,
)


@contextlib.asynccontextmanager
async def running(task: str) -> AsyncIterator[None]:
    """Count a maintenance run and show it as running until it ends (Rule 3)."""
    STARTED.labels(task).inc()
    RUNNING.labels(task).inc()
    try:
        yield
    finally:
        RUNNING.labels(task).dec()


class RetentionPass:
    def __init__(
        self,
        retention: Retention,
        clock: Clock,
        interval_seconds: float,
        leading: Callable[[], bool] = lambda: True,
        personal: PersonalRetention | None = None,
    ) -> None:
        self.retention = retention
        self.personal = personal
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.leading = leading
        # Calls gone quiet, looked up at the carrier in each pass (Rule 4).
        self.quiet_calls: QuietCalls | None = None
        self._timer: Timer | None = None
        self._stopped = False

    @classmethod
    def from_settings(
        cls,
        s: Settings,
        store: Store,
        dead_letters: DeadLetterStore,
        clock: Clock,
        leading: Callable[[], bool],
        privacy: Privacy | None = None,
    ) -> RetentionPass:
        windows = Windows(
            participants=s.ended_participant_retention_seconds,
            conferences=s.ended_conference_retention_seconds,
            request_ids=s.request_id_retention_seconds,
            carrier_calls=s.carrier_call_retention_seconds,
            carrier_callbacks=s.carrier_callback_retention_seconds,
            dead_letters=s.dead_letter_retention_seconds,
            audit=s.audit_retention_seconds,
        )
        retention = Retention(store, dead_letters, clock, windows, batch=s.retention_batch)
        personal = None
        if privacy is not None:
            personal = PersonalRetention(
                privacy,
                s.personal_data_retention_seconds,
                parse_account_seconds(s.account_personal_data_retention),
                batch=s.retention_batch,
            )
        return cls(retention, clock, s.retention_interval_seconds, leading, personal)

    def start(self) -> None:
        if self.interval_seconds > 0:
            self._timer = self.clock.call_later(self.interval_seconds, self._due)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _due(self) -> None:
        try:
            await self.run()
        except Exception:
            log.exception("retention pass failed")
        if not self._stopped:
            self._timer = self.clock.call_later(self.interval_seconds, self._due)

    async def run(self) -> dict[Kind, int]:
        """One pass now, where this process leads (Rule 1); what went, by kind."""
        if not self.leading():
            return {}
        async with running("retention"):
            # Redacted first: before the participants themselves may go.
            redacted = 0 if self.personal is None else await self.personal.run()
            removed = {Kind.PERSONAL_DATA: redacted, **await self.retention.run()}
        if self.quiet_calls is not None:
            async with running("quiet_calls"):
                await self.quiet_calls.run()
        for kind, count in removed.items():
            if count:
                REMOVED.labels(kind.value).inc(count)
        if any(removed.values()):
            log.info("retention pass", extra={k.value: n for k, n in removed.items() if n})
        return removed
