"""Create with a remote carrier, on two replicas sharing one store.

Two Participants (two replicas' cores: each its own locks) share one
in-memory store; the carrier is the simulator declared remote, whose placing
can be held at a gate. A Create placed into a new conference while the
other replica creates the conference of that name must not split the
conference at the carrier: its call is ended and placed again into the
conference that was recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.ports.carrier import Effect, Kick, PlaceCall, Placed, Report
from service.store.memory.store import MemoryStore
from tests.fakes.core import TestCore as Participants
from tests.fakes.core import command


class GatedCarrier(SimulatedCarrier):
    """The simulator as a remote carrier; place() can wait at a gate."""

    in_process = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gate: asyncio.Event | None = None
        self.arrived = asyncio.Event()
        self.placed: list[tuple[str, str]] = []  # (conference, call_sid)
        self.kicked: list[str] = []

    async def place(self, call: PlaceCall) -> Placed:
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        placed = await super().place(call)
        self.placed.append((call.conference, placed.call_sid))
        return placed

    async def apply(self, effect: Effect) -> None:
        if isinstance(effect, Kick):
            self.kicked.append(effect.target.call_sid)
        await super().apply(effect)


@pytest.fixture
async def replicas() -> AsyncIterator[list[tuple[Participants, GatedCarrier]]]:
    clock = ManualClock()
    store = MemoryStore()
    await store.open()
    made: list[tuple[Participants, GatedCarrier]] = []
    for _ in range(2):
        holder: list[Participants] = []

        async def sink(report: Report, holder: list[Participants] = holder) -> None:
            await holder[0].on_report(report)

        carrier = GatedCarrier(clock, sink, ring_seconds=1.0, calls_per_second=0)
        participants = Participants(store, carrier, clock)
        holder.append(participants)
        made.append((participants, carrier))
    try:
        yield made
    finally:
        for _, carrier in made:
            await carrier.close()
        await store.close()


async def test_a_conference_created_meanwhile_elsewhere_is_not_split_at_the_carrier(
    replicas: list[tuple[Participants, GatedCarrier]],
) -> None:
    (a, carrier_a), (b, _) = replicas
    carrier_a.gate = asyncio.Event()
    first = asyncio.ensure_future(a.create(command("room", to_endpoint="+15551230001")))
    await carrier_a.arrived.wait()  # A decided a new "room" and waits at the carrier
    other, _ = await b.create(command("room", to_endpoint="+15551230002"))
    carrier_a.gate.set()
    mine, _ = await first
    assert mine.conference_sid == other.conference_sid
    # A's first call went into a carrier conference of its own: ended, and
    # placed again into the conference B created.
    (wrong, ended), (right, kept) = carrier_a.placed
    assert wrong != other.conference_sid and right == other.conference_sid
    assert carrier_a.kicked == [ended] and mine.call_sid == kept
