"""The core on a real SQLite store and a simulated telephony, on a manual clock.

What it owns: the rig the core-level tests share: Participants over a real
SqliteStore, a SimulatedTelephony (or a test double built on it) whose
reports go back to the core as the server wires them, and every committed
event in `seen`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Generic, TypeVar

from service.clock import ManualClock
from service.core.model import Event
from service.core.ports.telephony import Report
from service.core.usecases import Participants
from service.dialer.simulated_telephony import SimulatedTelephony
from service.store.sqlite import SqliteStore

T = TypeVar("T", bound=SimulatedTelephony)


@dataclasses.dataclass
class Core(Generic[T]):
    participants: Participants
    telephony: T
    clock: ManualClock
    seen: list[Event]


@contextlib.asynccontextmanager
async def simulated_core(tmp_path: Path, telephony: type[T]) -> AsyncIterator[Core[T]]:
    """`telephony`: SimulatedTelephony or a subclass (made with ring_seconds=1, no pacing)."""
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "core.sqlite3"))
    await store.open()
    seen: list[Event] = []
    holder: list[Participants] = []

    async def sink(report: Report) -> None:
        await holder[0].on_report(report)

    made = telephony(clock, sink, ring_seconds=1.0, calls_per_second=0)
    participants = Participants(store, made, clock)
    holder.append(participants)
    participants.subscribe(seen.extend)
    try:
        yield Core(participants, made, clock, seen)
    finally:
        await made.close()
        await store.close()
