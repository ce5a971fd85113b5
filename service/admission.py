"""Admission of unary calls: a bound on the work in flight, and the stop gate.

Rule 1: a call is refused before it does anything, with a typed error, when
the server already carries `max_in_flight` calls, counting changes still
running for callers that left (RESOURCE_EXHAUSTED, OVERLOADED), or is
shutting down (UNAVAILABLE, SHUTTING_DOWN).
Rule 2: a call admitted before the gate closed gets until the grace period
ends; one still running then ends UNAVAILABLE SHUTTING_DOWN (a change it had
started still runs to its end apart from it).
Rule 3: gRPC and the in-process REST gateway share one Admission, so they
share the limit.
Rule 4: each refusal is counted (in service.metrics' REGISTRY); an overload
episode is logged once when it starts and once when it ends, never per refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge

from service.core import errors
from service.metrics import REGISTRY

log = logging.getLogger("rollcall.admission")

IN_FLIGHT = Gauge(
    "rollcall_calls_in_flight",
    "Unary calls being served now (gRPC and REST).",
    registry=REGISTRY,
)
REFUSED = Counter(
    "rollcall_calls_refused",
    "Unary calls refused before any work, by reason (OVERLOADED, SHUTTING_DOWN).",
    ["reason"],
    registry=REGISTRY,
)


class TaskOf:
    """The running task, found without asking for the running loop each time
    once it is known: on Python 3.11 get_running_loop() (which
    asyncio.current_task() calls) is a getpid() system call, and admission
    and the door ask on every call."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> asyncio.Task[Any]:
        loop = self._loop
        task = asyncio.current_task(loop) if loop is not None else None
        if task is None:  # first use, or another loop's (tests run several)
            self._loop = loop = asyncio.get_running_loop()
            task = asyncio.current_task(loop)
            assert task is not None
        return task


class Admission:
    def __init__(self, max_in_flight: int, orphans: Callable[[], int] = lambda: 0) -> None:
        self.max_in_flight = max_in_flight
        self._orphans = orphans
        self.in_flight = 0
        self._tasks: set[asyncio.Task[object]] = set()
        self._interrupted: set[asyncio.Task[object]] = set()
        self._task_of = TaskOf()
        self._idle = asyncio.Event()
        self._idle.set()
        self.closed = False
        # An overload episode: from the first refusal until load halves.
        self._shedding = False
        self._refused = 0
        # Read when scraped, not set twice per call (a locked write each).
        IN_FLIGHT.set_function(lambda: self.in_flight)

    def _refuse(self, error: errors.RollcallError) -> errors.RollcallError:
        REFUSED.labels(error.reason).inc()
        if error.reason == "OVERLOADED":
            self._refused += 1
            if not self._shedding:
                self._shedding = True
                log.warning("overloaded: refusing calls", extra={"limit": self.max_in_flight})
        return error

    def enter(self) -> asyncio.Task[object]:
        """Take one place in flight for the current task, or raise the refusal.
        The caller must `leave()` it, and pass a cancellation to `cancelled()`."""
        if self.closed:
            raise self._refuse(errors.shutting_down())
        limit = self.max_in_flight
        if limit and self.in_flight + self._orphans() >= limit:
            raise self._refuse(errors.overloaded(limit))
        task = self._task_of()
        self._tasks.add(task)
        self.in_flight += 1
        self._idle.clear()
        return task

    def cancelled(self, task: asyncio.Task[object]) -> None:
        """A call was cancelled: if the stop interrupted it, say so (UNAVAILABLE)."""
        if task in self._interrupted:
            task.uncancel()
            raise errors.shutting_down(
                "this server stopped before the call finished; a change it had begun"
                " is completed, so a retry (same request_id or etag) is safe"
            ) from None

    def leave(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        self._interrupted.discard(task)
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()
        if self._shedding and self.in_flight + self._orphans() <= self.max_in_flight // 2:
            self._shedding = False
            log.info("no longer overloaded", extra={"refused": self._refused})
            self._refused = 0

    def close(self) -> None:
        """From now on every call is refused UNAVAILABLE (SHUTTING_DOWN)."""
        self.closed = True

    async def finish(self, grace: float) -> int:
        """Wait up to `grace` seconds for the calls in flight; end the rest
        UNAVAILABLE. Returns how many had to be ended."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=max(grace, 0.0))
        late = list(self._tasks)
        for task in late:
            self._interrupted.add(task)
            task.cancel()
        if late:
            log.warning("calls still running when the grace period ended", extra={"n": len(late)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=5)
        return len(late)
