"""Waiting on the injected clock: backoff with jitter and a calls-per-second pacer.

Rule 1: nothing here reads the wall clock or sleeps on its own: time comes from
        the Clock and waiting from the injected Sleep, so tests drive both.
Rule 2: the pacer hands out start slots per key (an upstream account) at most
        1/calls_per_second apart, in request order; a slot further off than the
        caller will wait is not reserved.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from service.clock import Clock

Sleep = Callable[[float], Awaitable[None]]


def clock_sleep(clock: Clock) -> Sleep:
    """A Sleep that waits `seconds` of the clock's time (a timer, not time.sleep)."""

    async def sleep(seconds: float) -> None:
        if seconds <= 0:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        timer = clock.call_later(seconds, wake)
        try:
            await done
        finally:
            timer.cancel()

    return sleep


def backoff(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)) (attempt counts from 0)."""
    return rand() * min(cap, base * math.pow(2.0, min(attempt, 30)))


class Pacer:
    """Start slots per key, at most `per_second` per second (0 = unlimited)."""

    _SWEEP_ABOVE = 1024

    def __init__(self, clock: Clock, per_second: float) -> None:
        if not math.isfinite(per_second) or per_second < 0:
            raise ValueError("calls per second must be a finite number >= 0 (0 = unlimited)")
        self._clock = clock
        self._spacing = 1.0 / per_second if per_second else 0.0
        self._next: dict[str, float] = {}

    def reserve(self, key: str, within: float = math.inf) -> float | None:
        """Reserve the next slot for `key`; returns seconds to wait before using
        it, or None (nothing reserved) when that is more than `within` seconds."""
        if not self._spacing:
            return 0.0
        now = self._clock.now()
        slot = max(now, self._next.get(key, now))
        if slot - now > within:
            return None
        self._next[key] = slot + self._spacing
        if len(self._next) > self._SWEEP_ABOVE:
            self._next = {k: t for k, t in self._next.items() if t > now}
        return slot - now
