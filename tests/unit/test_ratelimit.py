"""The per-account rate limiter (service.ratelimit): burst, refill, separate accounts."""

from __future__ import annotations

import pytest

from service.clock import ManualClock
from service.core.errors import RollcallError
from service.ratelimit import RateLimiter

AC = "AC" + "a" * 32
OTHER = "AC" + "b" * 32


async def test_rate_limit_burst_refill_and_separate_accounts() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock, per_second=2.0, burst=3)
    for _ in range(3):
        limiter.take(AC)
    with pytest.raises(RollcallError) as caught:
        limiter.take(AC)
    assert caught.value.reason == "RATE_LIMITED"
    assert caught.value.metadata["retry_after_seconds"] == "1"
    limiter.take(OTHER)  # its own bucket
    await clock.advance(0.5)  # one token back at 2 per second
    limiter.take(AC)
    with pytest.raises(RollcallError):
        limiter.take(AC)
    await clock.advance(10)  # refills to the burst, no further
    for _ in range(3):
        limiter.take(AC)
    with pytest.raises(RollcallError):
        limiter.take(AC)


def test_a_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(ManualClock(), per_second=0, burst=1)
    for _ in range(100):
        limiter.take(AC)
