"""A watch stream's progress timer (rpc.watch._Beat) on the manual clock: a
marker comes exactly one interval after the stream last went idle, however
often it woke in between, with one timer armed at a time."""

from __future__ import annotations

import asyncio

from service.clock import ManualClock
from service.rpc.watch import _Beat

INTERVAL = 10.0


async def test_the_marker_comes_a_full_interval_after_the_stream_last_went_idle() -> None:
    clock = ManualClock()
    loop = asyncio.get_running_loop()
    beat = _Beat(clock, INTERVAL)
    first: asyncio.Future[bool] = loop.create_future()
    beat.idle(first)
    await clock.advance(4.0)
    first.set_result(True)  # an event woke the stream at t=4
    beat.waiter = None
    second: asyncio.Future[bool] = loop.create_future()
    beat.idle(second)  # idle again at t=4
    await clock.advance(6.0)  # t=10: the first interval has passed
    assert not second.done()
    await clock.advance(4.0)  # t=14: a full interval after t=4
    assert second.done() and second.result() is False
    beat.stop()


async def test_a_stream_idle_from_the_start_gets_its_marker_on_time() -> None:
    clock = ManualClock()
    beat = _Beat(clock, INTERVAL)
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    beat.idle(waiter)
    await clock.advance(INTERVAL)
    assert waiter.done() and waiter.result() is False


async def test_a_stopped_beat_resolves_nothing() -> None:
    clock = ManualClock()
    beat = _Beat(clock, INTERVAL)
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    beat.idle(waiter)
    beat.stop()
    await clock.advance(INTERVAL * 3)
    assert not waiter.done()
