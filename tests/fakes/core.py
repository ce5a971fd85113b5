"""The core on a real SQLite store and a simulated carrier, on a manual clock.

What it owns: the rig the core-level tests share: Participants over a real
SqliteStore, a SimulatedCarrier (or a test double built on it) whose
reports go back to the core as the server wires them, and every committed
event in `seen`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Generic, TypeVar

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.feed import LocalFeed
from service.core.model import Event
from service.core.ports.carrier import Report
from service.core.usecases import Participants
from service.store.sqlite.store import SqliteStore
from tests.fakes.feed import OnCommit

T = TypeVar("T", bound=SimulatedCarrier)


@dataclasses.dataclass
class Core(Generic[T]):
    participants: Participants
    carrier: T
    clock: ManualClock
    seen: list[Event]


@contextlib.asynccontextmanager
async def simulated_core(tmp_path: Path, carrier: type[T]) -> AsyncIterator[Core[T]]:
    """`carrier`: SimulatedCarrier or a subclass (made with ring_seconds=1, no pacing)."""
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "core.sqlite3"))
    await store.open()
    seen: list[Event] = []
    holder: list[Participants] = []

    async def sink(report: Report) -> None:
        await holder[0].on_report(report)

    made = carrier(clock, sink, ring_seconds=1.0, calls_per_second=0)
    participants = Participants(store, made, clock, LocalFeed())
    holder.append(participants)
    participants.feed.subscribe(OnCommit(seen.extend))
    try:
        yield Core(participants, made, clock, seen)
    finally:
        await made.close()
        await store.close()
