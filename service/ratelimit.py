"""Per-account request rate limits: a token bucket per account on the injected clock.

Rule 1: a request over the limit is refused before it does anything
        (RESOURCE_EXHAUSTED, reason RATE_LIMITED, Twilio 20429, with the seconds to
        wait as retry_after_seconds in its metadata).
Rule 2: tokens refill from the service's Clock, so tests drive the limit without
        sleeping; a rate of 0 means unlimited.
"""

from __future__ import annotations

import math

from service.clock import Clock
from service.core import errors


class RateLimiter:
    def __init__(self, clock: Clock, per_second: float, burst: int) -> None:
        self.clock = clock
        self.per_second = per_second
        self.burst = max(1, burst)
        # account -> (tokens, time of last refill)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, account_sid: str) -> None:
        if self.per_second <= 0:
            return
        now = self.clock.now()
        tokens, then = self._buckets.get(account_sid, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens < 1.0:
            self._buckets[account_sid] = (tokens, now)
            wait = (1.0 - tokens) / self.per_second
            raise errors.rate_limited(
                f"Too Many Requests: at most {self.per_second:g} per second per account",
                math.ceil(wait),
            )
        self._buckets[account_sid] = (tokens - 1.0, now)
