"""A watch stream's progress timer (rpc.watch_beat.Beat) on the manual clock: a
marker comes exactly one interval after the stream last went idle having sent
something, however often it woke in between, with one timer armed at a time;
a stream that wakes often but passes nothing on still gets its marker on
time, idle or busy."""

from __future__ import annotations

import asyncio

from service.clock import ManualClock
from service.rpc.watch_beat import Beat

INTERVAL = 10.0


async def test_the_marker_comes_a_full_interval_after_the_stream_last_went_idle() -> None:
    clock = ManualClock()
    loop = asyncio.get_running_loop()
    beat = Beat(clock, INTERVAL)
    first: asyncio.Future[bool] = loop.create_future()
    beat.idle(first)
    await clock.advance(4.0)
    first.set_result(True)  # an event woke the stream at t=4, and it sent it
    beat.waiter = None
    beat.spoke = True
    second: asyncio.Future[bool] = loop.create_future()
    beat.idle(second)  # idle again at t=4
    await clock.advance(6.0)  # t=10: the first interval has passed
    assert not second.done()
    await clock.advance(4.0)  # t=14: a full interval after t=4
    assert second.done() and second.result() is False
    beat.stop()


async def test_a_stream_idle_from_the_start_gets_its_marker_on_time() -> None:
    clock = ManualClock()
    beat = Beat(clock, INTERVAL)
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    beat.idle(waiter)
    await clock.advance(INTERVAL)
    assert waiter.done() and waiter.result() is False


async def test_a_stopped_beat_resolves_nothing() -> None:
    clock = ManualClock()
    beat = Beat(clock, INTERVAL)
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    beat.idle(waiter)
    beat.stop()
    await clock.advance(INTERVAL * 3)
    assert not waiter.done()


async def test_waking_without_sending_does_not_put_the_marker_off() -> None:
    clock = ManualClock()
    loop = asyncio.get_running_loop()
    beat = Beat(clock, INTERVAL)
    for _ in range(3):  # woken at t=0, 3, 6 by events its filter drops
        waiter: asyncio.Future[bool] = loop.create_future()
        beat.idle(waiter)
        await clock.advance(3.0)
        waiter.set_result(True)
        beat.waiter = None
    last: asyncio.Future[bool] = loop.create_future()
    beat.idle(last)  # t=9
    await clock.advance(1.0)  # t=10: an interval since it last sent anything
    assert last.done() and last.result() is False
    beat.stop()


async def test_a_marker_overdue_while_busy_comes_at_the_next_idle() -> None:
    clock = ManualClock()
    loop = asyncio.get_running_loop()
    beat = Beat(clock, INTERVAL)
    first: asyncio.Future[bool] = loop.create_future()
    beat.idle(first)
    await clock.advance(2.0)
    first.set_result(True)  # busy from t=2 to t=12, passing nothing on
    beat.waiter = None
    await clock.advance(10.0)
    late: asyncio.Future[bool] = loop.create_future()
    beat.idle(late)
    assert late.done() and late.result() is False  # at once, not an interval later
    beat.stop()


async def test_a_stream_busy_passing_nothing_is_told_a_marker_is_due() -> None:
    clock = ManualClock()
    beat = Beat(clock, INTERVAL)
    assert not beat.due()  # it just spoke (the snapshot)
    await clock.advance(9.0)
    assert not beat.due()
    await clock.advance(1.0)
    assert beat.due()
    beat.spoke = True  # it sent the marker
    assert not beat.due()
    await clock.advance(5.0)
    beat.spoke = True  # and an event
    assert not beat.due()
    await clock.advance(9.0)
    assert not beat.due()
