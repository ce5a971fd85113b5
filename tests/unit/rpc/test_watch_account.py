"""AccountWatch.snapshot (rpc.watch_account Rule 7): streams that start while a
snapshot read of their account is under way share it, with the generation
from before the read; a read that ended is never reused."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from service.core.ports.store import Floor
from service.rpc.account_cursor import CursorSeal
from service.rpc.watch_account import AccountWatch


class HeldStore:
    """Only Store.floor, answering when the test lets it (one gate per read)."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, int]] = []
        self.gates: list[asyncio.Future[Floor]] = []
        self._news = asyncio.Event()

    async def floor(self, account_sid: str, **kwargs: Any) -> Floor:
        self.reads.append((account_sid, kwargs["limit"]))
        gate: asyncio.Future[Floor] = asyncio.get_running_loop().create_future()
        self.gates.append(gate)
        self._news.set()
        return await gate

    async def started(self, count: int) -> None:
        """Until `count` reads have begun. Tasks run in the order they were
        made, so every stream task made before the last read's has run too."""
        while len(self.reads) < count:
            self._news.clear()
            await self._news.wait()


def watch_on(store: HeldStore) -> AccountWatch:
    hub: Any = SimpleNamespace(store=store, accounts=None)
    return AccountWatch(hub, CursorSeal(), limit=10, poll_seconds=1.0)


async def test_streams_starting_during_a_read_share_it_with_its_generation() -> None:
    store = HeldStore()
    watch = watch_on(store)
    before = watch.recent.generation
    first = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(1)
    watch.recent.note("CF1", 7)  # a change lands while the read is under way
    second = asyncio.ensure_future(watch.snapshot("AC1", 40))
    other_account = asyncio.ensure_future(watch.snapshot("AC2", 40))
    await store.started(2)
    assert store.reads == [("AC1", 40), ("AC2", 40)]
    floor = Floor(conferences=[], horizon=3)
    store.gates[0].set_result(floor)
    store.gates[1].set_result(Floor(conferences=[], horizon=9))
    # Both see the read's generation: the change noted during it is news to both.
    shot = await first
    assert (shot.generation, shot.floor) == (before, floor)
    assert await second is shot
    assert (await other_account).floor.horizon == 9
    assert watch.snapshot_reads == 2


async def test_a_read_that_ended_is_not_reused() -> None:
    store = HeldStore()
    watch = watch_on(store)
    first = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(1)
    store.gates[0].set_result(Floor(conferences=[], horizon=1))
    await first
    watch.recent.note("CF1", 2)
    later = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(2)
    assert len(store.reads) == 2
    store.gates[1].set_result(Floor(conferences=[], horizon=2))
    shot = await later
    assert (shot.generation, shot.floor) == (1, Floor(conferences=[], horizon=2))


async def test_a_failed_read_fails_each_sharer_and_the_next_stream_reads_again() -> None:
    store = HeldStore()
    watch = watch_on(store)
    first = asyncio.ensure_future(watch.snapshot("AC1", 40))
    second = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(1)
    store.gates[0].set_exception(ConnectionError("store gone"))
    for waiting in (first, second):
        with pytest.raises(ConnectionError):
            await waiting
    again = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(2)
    assert len(store.reads) == 2
    store.gates[1].set_result(Floor(conferences=[], horizon=5))
    assert (await again).floor.horizon == 5


async def test_the_stream_that_began_a_read_leaving_leaves_it_to_the_others() -> None:
    store = HeldStore()
    watch = watch_on(store)
    first = asyncio.ensure_future(watch.snapshot("AC1", 40))
    second = asyncio.ensure_future(watch.snapshot("AC1", 40))
    await store.started(1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    store.gates[0].set_result(Floor(conferences=[], horizon=4))
    assert (await second).floor.horizon == 4
    assert first.cancelled()
