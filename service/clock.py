"""Injectable time: SystemClock when serving, ManualClock in tests.

Rule 1: what the service records and schedules (its timestamps, call progress,
        callback retries, carrier pacing, rate limits) takes its time from a Clock
        it is handed, never from the wall clock.
Rule 2: ManualClock fires due timers only when a test advances it, in due-time
        order (ties in scheduling order), so tests drive call progress without
        sleeping.
Rule 3: a timer runs apart from whoever scheduled it, in a context of its own
        (both clocks alike): the caller's actor, login and request id stay with
        the caller, so what a timer changes is never booked to them.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

Callback = Callable[[], Awaitable[None] | None]


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def call_later(self, delay: float, callback: Callback) -> Timer:
        """Run callback (sync or async) after delay seconds of this clock's time."""
        ...


async def _awaited(result: Awaitable[None]) -> None:
    await result


class _TaskTimer:
    def __init__(self) -> None:
        self.handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()


class SystemClock:
    """Real time, scheduling on the running event loop."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callback) -> Timer:
        loop = asyncio.get_running_loop()
        timer = _TaskTimer()

        def fire() -> None:
            if timer.cancelled:
                return
            context = contextvars.Context()
            result = context.run(callback)
            if inspect.isawaitable(result):
                task = loop.create_task(_awaited(result), context=context)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        timer.handle = loop.call_later(max(0.0, delay), fire, context=contextvars.Context())
        return timer


class _ManualTimer:
    def __init__(self, due: float, callback: Callback) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Time that moves only when advance() is awaited."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, _ManualTimer]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callback) -> Timer:
        timer = _ManualTimer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        return timer

    def pending(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    async def advance(self, seconds: float) -> None:
        """Move time forward, running every timer that falls due, in order.

        Callbacks that schedule new timers inside the window also run.
        """
        target = self._now + seconds
        while self._heap and self._heap[0][0] <= target:
            due, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            context = contextvars.Context()
            result = context.run(timer.callback)
            if inspect.isawaitable(result):
                await asyncio.get_running_loop().create_task(_awaited(result), context=context)
        self._now = max(self._now, target)
