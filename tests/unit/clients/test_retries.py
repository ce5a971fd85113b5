"""clients.retries: RetryInfo honoured within the one deadline, on a manual clock."""

from __future__ import annotations

import pytest

from clients.errors import RollcallClientError
from clients.retries import call_retrying


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def throttled(delay: float | None) -> RollcallClientError:
    return RollcallClientError("RESOURCE_EXHAUSTED", "RATE_LIMITED", "slow", retry_delay=delay)


async def test_waits_what_the_server_asks_and_gives_each_attempt_the_time_left() -> None:
    clock, given = Clock(), []

    async def attempt(left: float | None) -> str:
        given.append(left)
        if len(given) < 3:
            raise throttled(2.0)
        return "done"

    assert (
        await call_retrying(attempt, seconds=30, retry=True, sleep=clock.sleep, clock=clock)
        == "done"
    )
    assert all(2.0 <= s <= 2.4 for s in clock.slept) and len(clock.slept) == 2
    assert given[0] == 30 and given[2] == pytest.approx(30 - sum(clock.slept))


async def test_no_retry_past_the_deadline_without_retry_info_or_when_not_asked() -> None:
    for error, seconds, retry in (
        (throttled(5.0), 4.0, True),  # the wait would end after the deadline
        (throttled(None), 30.0, True),  # the server did not say when
        (throttled(1.0), 30.0, False),  # not safe to repeat
    ):
        clock, calls = Clock(), list[object]()

        async def attempt(
            left: float | None, error: RollcallClientError = error, calls: list[object] = calls
        ) -> str:
            calls.append(left)
            raise error

        with pytest.raises(RollcallClientError):
            await call_retrying(
                attempt, seconds=seconds, retry=retry, sleep=clock.sleep, clock=clock
            )
        assert len(calls) == 1 and clock.slept == []
