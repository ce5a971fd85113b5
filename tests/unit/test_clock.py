"""ManualClock fires due timers in order only when advanced; SystemClock fires on the loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.clock import Clock, ManualClock, SystemClock
from service.core import actors

START = 1_700_000_000.0


async def _yield_to_loop() -> None:
    """Suspend once, really, without a timed sleep."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.call_soon(future.set_result, None)
    await future


def test_clocks_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [ManualClock(), SystemClock()]
    assert len(clocks) == 2


async def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    await clock.advance(2.5)
    assert clock.now() == START + 2.5


async def test_timers_fire_in_due_order_and_ties_in_scheduling_order() -> None:
    clock = ManualClock(START)
    fired: list[tuple[str, float]] = []

    def record(name: str) -> None:
        fired.append((name, clock.now()))

    clock.call_later(3, lambda: record("c"))
    clock.call_later(1, lambda: record("a1"))
    clock.call_later(2, lambda: record("b"))
    clock.call_later(1, lambda: record("a2"))
    clock.call_later(1, lambda: record("a3"))

    await clock.advance(10)

    assert fired == [
        ("a1", START + 1),
        ("a2", START + 1),
        ("a3", START + 1),
        ("b", START + 2),
        ("c", START + 3),
    ]
    assert clock.now() == START + 10


async def test_only_timers_inside_the_window_fire() -> None:
    clock = ManualClock(START)
    fired: list[str] = []
    clock.call_later(1, lambda: fired.append("early"))
    clock.call_later(5, lambda: fired.append("late"))

    await clock.advance(1)  # the window's end is inclusive
    assert fired == ["early"]
    assert clock.pending() == 1

    await clock.advance(3.9)
    assert fired == ["early"]

    await clock.advance(0.1)
    assert fired == ["early", "late"]
    assert clock.pending() == 0


async def test_timers_scheduled_during_advance_inside_the_window_run() -> None:
    clock = ManualClock(START)
    fired: list[tuple[str, float]] = []

    def first() -> None:
        fired.append(("first", clock.now()))
        clock.call_later(2, second)  # due at START + 3, inside the window
        clock.call_later(0, immediate)
        clock.call_later(10, outside)  # due at START + 11, outside

    def second() -> None:
        fired.append(("second", clock.now()))

    def immediate() -> None:
        fired.append(("immediate", clock.now()))

    def outside() -> None:
        fired.append(("outside", clock.now()))

    clock.call_later(1, first)
    await clock.advance(5)

    assert fired == [("first", START + 1), ("immediate", START + 1), ("second", START + 3)]
    assert clock.pending() == 1
    await clock.advance(6)
    assert fired[-1] == ("outside", START + 11)


async def test_cancelled_timers_never_fire() -> None:
    clock = ManualClock(START)
    fired: list[str] = []
    kept = clock.call_later(1, lambda: fired.append("kept"))
    dropped = clock.call_later(1, lambda: fired.append("dropped"))
    dropped.cancel()
    assert clock.pending() == 1

    await clock.advance(2)
    assert fired == ["kept"]
    kept.cancel()  # cancelling a fired timer is harmless
    assert clock.pending() == 0


async def test_a_timer_cancelled_by_an_earlier_callback_does_not_fire() -> None:
    clock = ManualClock(START)
    fired: list[str] = []
    later = clock.call_later(2, lambda: fired.append("later"))
    clock.call_later(1, later.cancel)
    await clock.advance(3)
    assert fired == []


async def test_async_callbacks_are_awaited_before_advance_returns() -> None:
    clock = ManualClock(START)
    fired: list[tuple[str, float]] = []

    async def slow(name: str) -> None:
        await _yield_to_loop()
        fired.append((name, clock.now()))

    clock.call_later(1, lambda: slow("one"))
    clock.call_later(2, lambda: slow("two"))
    await clock.advance(2)

    assert fired == [("one", START + 1), ("two", START + 2)]


async def test_negative_delay_means_now() -> None:
    clock = ManualClock(START)
    fired: list[float] = []
    clock.call_later(-5, lambda: fired.append(clock.now()))
    await clock.advance(0)
    assert fired == [START]


async def test_advance_from_a_callback_never_moves_time_backwards() -> None:
    clock = ManualClock(START)

    async def jump() -> None:
        await clock.advance(100)

    clock.call_later(1, jump)
    await clock.advance(2)
    assert clock.now() == START + 101


async def test_system_clock_fires_a_sync_callback() -> None:
    clock = SystemClock()
    fired = asyncio.Event()
    clock.call_later(0.01, fired.set)
    await asyncio.wait_for(fired.wait(), timeout=5)


async def test_system_clock_awaits_an_async_callback() -> None:
    clock = SystemClock()
    done = asyncio.Event()

    async def callback() -> None:
        await _yield_to_loop()
        done.set()

    clock.call_later(0, callback)
    await asyncio.wait_for(done.wait(), timeout=5)


async def test_system_clock_cancel_prevents_the_callback() -> None:
    clock = SystemClock()
    fired: list[str] = []
    done = asyncio.Event()
    clock.call_later(0, lambda: fired.append("cancelled")).cancel()
    clock.call_later(0.02, done.set)
    await asyncio.wait_for(done.wait(), timeout=5)
    assert fired == []


def test_system_clock_now_is_wall_time() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()


@pytest.mark.parametrize("clock_kind", ["system", "manual"])
async def test_a_timer_runs_apart_from_whoever_scheduled_it(clock_kind: str) -> None:
    """Rule 3: the caller's actor (and any other context) stays with the caller;
    what a timer changes is Rollcall's or the carrier's, never the caller's."""
    caller = actors.Actor(actors.ActorKind.API_KEY, "SK" + "1" * 32, face="grpc")
    seen: list[actors.Actor] = []
    done = asyncio.Event()

    def sync_callback() -> None:
        seen.append(actors.current())

    async def async_callback() -> None:
        seen.append(actors.current())
        done.set()

    clock: SystemClock | ManualClock = SystemClock() if clock_kind == "system" else ManualClock()
    with actors.as_actor(caller):
        clock.call_later(0, sync_callback)
        clock.call_later(0, async_callback)
        if isinstance(clock, ManualClock):
            await clock.advance(0)  # a test advancing as the caller, too
    if isinstance(clock, SystemClock):
        await asyncio.wait_for(done.wait(), 5)
    assert seen == [actors.ROLLCALL, actors.ROLLCALL]
