"""The core on the in-memory store and a simulated carrier, on a manual clock.

Rule 1: `simulated_core` is the real core, assembled as the server assembles
        it, over a MemoryStore (no file) and a SimulatedCarrier or a test
        double built on it, whose reports go back to the core as the server
        wires them; every committed event lands in `seen`.
Rule 2: `TestCore` is that core with the few handles the tests reach for.
Rule 3: `command` is the smallest valid Create, into account AC's `room`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Generic, TypeVar

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import Clock, ManualClock
from service.core import assemble
from service.core.commands import ConferenceRef, CreateCommand
from service.core.events import Event
from service.core.feed import LocalFeed
from service.core.ports.carrier import Carrier, Report
from service.core.ports.store import Store
from service.store.memory.store import MemoryStore

T = TypeVar("T", bound=SimulatedCarrier)
AC = "AC" + "a" * 32


def command(room: str = "room", **fields: object) -> CreateCommand:
    values: dict[str, object] = {
        "conference": ConferenceRef(AC, room),
        "from_endpoint": "+15005550006",
        "to_endpoint": "+15551234567",
        "label": None,
        "muted": False,
        "start_conference_on_enter": True,
        "end_conference_on_exit": False,
        "wait_url": None,
        "wait_method": "POST",
        "timeout": 60,
        "time_limit": 14400,
        "max_participants": 250,
        "conference_settings": {},
        "settings": {},
    }
    values.update(fields)
    return CreateCommand(**values)  # type: ignore[arg-type]


class Listener:
    """A change-feed subscriber that hands this process's commits to a callable."""

    def __init__(self, listener: Callable[[Sequence[Event]], Any]) -> None:
        self.listener = listener

    def committed(self, events: Sequence[Event]) -> None:
        self.listener(list(events))

    def heard(self, conference_sid: str, revision: int) -> None:
        return None

    def watching(self) -> list[str]:
        return []


class TestCore:
    """The assembled core; participant calls go to its Participants."""

    __test__ = False

    def __init__(self, store: Store, carrier: Carrier, clock: Clock) -> None:
        self.feed = LocalFeed()
        self.core = assemble.build(store, carrier, clock, self.feed)
        self.store = store
        self.carrier = carrier
        self.clock = clock
        self.participants = self.core.participants
        self.conferences = self.core.conferences
        self.create = self.participants.create
        self.fetch = self.participants.fetch
        self.list = self.participants.list
        self.update = self.participants.update
        self.delete = self.participants.delete
        self.conference = self.participants.conference
        self.on_report = self.core.reports.on_report
        self.recover = self.core.recover
        self.recover_placements = self.core.recover_placements

    def subscribe(self, listener: Callable[[Sequence[Event]], Any]) -> None:
        self.feed.subscribe(Listener(listener))


def sink_to(holder: list[TestCore]) -> Callable[[Report], Any]:
    """A carrier's report sink that applies reports through the core in `holder`."""

    async def sink(report: Report) -> None:
        await holder[0].on_report(report)

    return sink


@dataclasses.dataclass
class Core(Generic[T]):
    participants: TestCore
    carrier: T
    clock: ManualClock
    seen: list[Event]


@contextlib.asynccontextmanager
async def simulated_core(carrier: type[T]) -> AsyncIterator[Core[T]]:
    """`carrier`: SimulatedCarrier or a subclass (made with ring_seconds=1, no pacing)."""
    clock = ManualClock()
    store = MemoryStore()
    await store.open()
    seen: list[Event] = []
    holder: list[TestCore] = []
    made = carrier(clock, sink_to(holder), ring_seconds=1.0, calls_per_second=0)
    core = TestCore(store, made, clock)
    holder.append(core)
    core.subscribe(seen.extend)
    try:
        yield Core(core, made, clock, seen)
    finally:
        await made.close()
        await store.close()
