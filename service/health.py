"""Whether this process can serve: a periodic probe of its store, with hysteresis.

Rule 1: every `interval_seconds` of the clock the store is probed (a cheap
        read, see store.parts.Health); a probe that raises, or has not
        answered within `timeout_seconds`, failed.
Rule 2: `failure_threshold` failed probes in a row turn health NOT_SERVING,
        `success_threshold` good ones in a row SERVING again: one slow answer
        never flips it, and it comes back on its own once the store does.
Rule 3: a loss the store is certain of (a write finding the SQLite file gone)
        turns it NOT_SERVING at once; the probes bring it back (Rule 2).
Rule 4: each flip is logged once and heard by every listener, in order (the
        app sets gRPC health from it; the REST readiness endpoint reads
        `serving`); a store without a probe is always serving.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from service.clock import Clock, Timer
from service.config import Settings
from service.metrics import REGISTRY
from service.store.parts import Health

log = logging.getLogger("rollcall.health")

PROCESS_SERVING = Gauge(
    "rollcall_serving",
    "1 while this process reports SERVING (gRPC health, /readyz); 0 while its store"
    " cannot serve or it drains to stop",
    registry=REGISTRY,
)
SERVING_GAUGE = Gauge(
    "rollcall_store_serving",
    "1 while the store probe says this process can serve, 0 while it cannot",
    registry=REGISTRY,
)

Listener = Callable[[bool], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class HealthPolicy:
    interval_seconds: float = 1.0  # 0: no probes (Rule 3 still applies)
    timeout_seconds: float = 2.0
    failure_threshold: int = 2
    success_threshold: int = 2

    @classmethod
    def from_settings(cls, s: Settings) -> HealthPolicy:
        return cls(
            interval_seconds=s.database_check_seconds,
            timeout_seconds=s.database_probe_timeout_seconds,
            failure_threshold=max(1, s.health_failure_threshold),
            success_threshold=max(1, s.health_success_threshold),
        )


def _describe(exc: BaseException) -> str:
    """What failed, for the log: the error and its cause (never a DSN: the
    drivers' connection errors name a host and port, not the URL)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    cause = exc.__cause__
    if cause is not None:
        text += (
            f" ({type(cause).__name__}: {cause})" if str(cause) else f" ({type(cause).__name__})"
        )
    return text


class StoreHealth:
    """The store's health as the process reports it (see the module's rules)."""

    def __init__(self, store: Health | None, clock: Clock, policy: HealthPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self.serving = True
        self._failures = 0
        self._successes = 0
        self._listeners: list[Listener] = []
        self._timer: Timer | None = None
        self._flips: set[asyncio.Task[None]] = set()
        # Listeners hear flips one at a time, each the state as it is by then,
        # so the last one heard is always the current state.
        self._telling = asyncio.Lock()
        self._stopped = False
        SERVING_GAUGE.set(1)

    def on_change(self, listener: Listener) -> None:
        """`listener(serving)` is awaited at every flip."""
        self._listeners.append(listener)

    def start(self) -> None:
        if self._store is None:
            return
        self._store.on_lost(self._lost)
        self._schedule()

    def cancel(self) -> None:
        """No more probes (a stopping server); a flip under way still ends."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def check(self) -> bool:
        """One probe (Rule 1), counted towards a flip (Rule 2); True if it passed."""
        assert self._store is not None
        try:
            async with asyncio.timeout(self._policy.timeout_seconds):
                await self._store.probe()
        except Exception as exc:
            self._successes = 0
            self._failures += 1
            if self.serving and self._failures >= self._policy.failure_threshold:
                await self._flip(False, _describe(exc))
            return False
        self._failures = 0
        self._successes += 1
        if not self.serving and self._successes >= self._policy.success_threshold:
            await self._flip(True, "")
        return True

    def _schedule(self) -> None:
        if self._stopped or self._policy.interval_seconds <= 0:
            return

        async def tick() -> None:
            try:
                await self.check()
            finally:
                self._schedule()

        self._timer = self._clock.call_later(self._policy.interval_seconds, tick)

    def _lost(self) -> None:
        """Rule 3: the store is certain; called from inside a request."""
        self._failures = max(self._failures, self._policy.failure_threshold)
        self._successes = 0
        if self._set(False, "the store was lost"):
            task = asyncio.get_running_loop().create_task(self._tell())
            self._flips.add(task)
            task.add_done_callback(self._flips.discard)

    async def _flip(self, serving: bool, why: str) -> None:
        if self._set(serving, why):
            await self._tell()

    def _set(self, serving: bool, why: str) -> bool:
        """The new state, logged; False if it was the state already."""
        if self.serving == serving:
            return False
        self.serving = serving
        SERVING_GAUGE.set(1 if serving else 0)
        if serving:
            log.warning("the store answers again: health SERVING")
        else:
            log.error("the store cannot serve: health NOT_SERVING", extra={"error": why})
        return True

    async def _tell(self) -> None:
        async with self._telling:
            for listener in self._listeners:
                await listener(self.serving)
