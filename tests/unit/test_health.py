"""service.health: the probe's hysteresis, timeouts and certain losses, on a
manual clock, with a store whose answers the test sets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from service.clock import ManualClock
from service.health import HealthPolicy, StoreHealth

POLICY = HealthPolicy(
    interval_seconds=1.0, timeout_seconds=0.05, failure_threshold=2, success_threshold=3
)


class Store:
    """A store whose next probes answer as `up` says (`hang`: never)."""

    def __init__(self) -> None:
        self.up = True
        self.hang = False
        self.probes = 0
        self.lost: list[Callable[[], None]] = []

    async def probe(self) -> None:
        self.probes += 1
        if self.hang:
            await asyncio.Event().wait()
        if not self.up:
            raise OSError("unreachable")

    def on_lost(self, listener: Callable[[], None]) -> None:
        self.lost.append(listener)


class Heard(list[bool]):
    """What the listener was told, in order; `told` is set at each telling."""

    def __init__(self) -> None:
        super().__init__()
        self.told = asyncio.Event()


async def started(store: Store) -> tuple[StoreHealth, ManualClock, Heard]:
    clock = ManualClock()
    health = StoreHealth(store, clock, POLICY)
    heard = Heard()

    async def hear(serving: bool) -> None:
        heard.append(serving)
        heard.told.set()

    health.on_change(hear)
    health.start()
    return health, clock, heard


async def test_a_flip_needs_its_threshold_of_probes_in_a_row() -> None:
    store = Store()
    health, clock, heard = await started(store)
    store.up = False
    await clock.advance(1)
    assert health.serving and heard == []  # one failure flips nothing
    store.up = True
    await clock.advance(1)
    store.up = False
    await clock.advance(1)
    assert health.serving  # not in a row
    await clock.advance(1)
    assert not health.serving and heard == [False]
    store.up = True
    await clock.advance(2)
    assert not health.serving  # two of three
    await clock.advance(1)
    assert health.serving and heard == [False, True]
    assert store.probes == 7


async def test_a_probe_that_does_not_answer_in_time_failed() -> None:
    store = Store()
    health, clock, heard = await started(store)
    store.hang = True
    await clock.advance(2)
    assert not health.serving and heard == [False]


async def test_a_certain_loss_flips_at_once_and_probes_bring_it_back() -> None:
    store = Store()
    health, clock, heard = await started(store)
    store.lost[0]()
    assert not health.serving
    await asyncio.wait_for(heard.told.wait(), 5)  # told from a task of its own
    assert heard == [False]
    await clock.advance(3)
    assert health.serving and heard == [False, True]


async def test_no_probe_after_cancel_and_none_without_a_store() -> None:
    store = Store()
    health, clock, _ = await started(store)
    health.cancel()
    await clock.advance(10)
    assert store.probes == 0
    alone = StoreHealth(None, clock, POLICY)
    alone.start()
    await clock.advance(10)
    assert alone.serving and clock.pending() == 0
