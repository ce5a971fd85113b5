"""A Create with a remote carrier interrupted between placing and recording.

The carrier's side (its live calls, found by key as a label-aware carrier
finds them) outlives any Rollcall process; each "process" is its own
MemoryStore and Participants over one MemoryDatabase (as processes over one
SQLite file: one owner, so a restart's placements are its own). Process A decides a
Create and its call is placed, then A stops before recording it (its
placing never returns); process B, started on the same file, ends that
call at the carrier exactly once. A placement younger than the bound (a
Create perhaps still in flight elsewhere) is left alone; a refusal or a
recorded call leaves no placement; an unreachable carrier leaves it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Sequence

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core import errors
from service.core.errors import Code, RollcallError
from service.core.ports.carrier import (
    CallReport,
    Effect,
    Kick,
    OpenCall,
    PlaceCall,
    Placed,
    Report,
)
from service.core.ports.store import Placement
from service.core.records import new_sid
from service.core.statuses import CallStatus
from service.store.memory.store import MemoryStore
from service.store.memory.tables import MemoryDatabase
from tests.fakes.core import TestCore as Participants
from tests.fakes.core import command


class Died(Exception):
    """The end of a placing whose process is gone (never a carrier's answer)."""


@dataclasses.dataclass
class CarrierSide:
    """What the carrier knows, whichever Rollcall process asks."""

    by_key: dict[str, Placed] = dataclasses.field(default_factory=dict)
    live: set[str] = dataclasses.field(default_factory=set)
    kicked: list[str] = dataclasses.field(default_factory=list)
    placed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class RemoteCarrier(SimulatedCarrier):
    """A remote carrier that finds a call by its key (the simulator's
    bookkeeping; its calls ring until ended)."""

    in_process = False

    def __init__(self, side: CarrierSide, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.side = side
        self.hang_after_placing = False  # the answer does not come back...
        self.died = asyncio.Event()  # ...until the "process" is gone
        self.refuse: RollcallError | None = None

    async def place(self, call: PlaceCall) -> Placed:
        if self.refuse is not None:
            raise self.refuse
        # No simulated timeline: these calls ring until ended.
        placed = Placed(new_sid("CA"), call.conference)
        self.side.by_key[call.key] = placed
        self.side.live.add(placed.call_sid)
        self.side.placed.set()
        if self.hang_after_placing:
            await self.died.wait()
            raise Died()
        return placed

    async def apply(self, effect: Effect) -> None:
        if isinstance(effect, Kick):
            self.side.kicked.append(effect.target.call_sid)
            self.side.live.discard(effect.target.call_sid)

    async def reconcile(self, open_calls: Sequence[OpenCall]) -> list[CallReport]:
        reports: list[CallReport] = []
        for call in open_calls:
            assert call.call_sid is None  # only placements in these tests
            placed = self.side.by_key.get(call.key)
            if placed is None or placed.call_sid not in self.side.live:
                reports.append(CallReport("", CallStatus.FAILED, 0.0, key=call.key))
            else:
                reports.append(
                    CallReport(
                        placed.call_sid,
                        CallStatus.RINGING,
                        0.0,
                        key=call.key,
                        conference_sid=placed.conference_sid,
                    )
                )
        return reports


@dataclasses.dataclass
class Process:
    store: MemoryStore
    carrier: RemoteCarrier
    participants: Participants


class World:
    def __init__(self) -> None:
        self.database = MemoryDatabase()
        self.clock = ManualClock()
        self.side = CarrierSide()
        self.processes: list[Process] = []

    async def start(self) -> Process:
        store = MemoryStore(self.database)
        await store.open()
        holder: list[Participants] = []

        async def sink(report: Report) -> None:
            await holder[0].on_report(report)

        carrier = RemoteCarrier(self.side, self.clock, sink, ring_seconds=1.0, calls_per_second=0)
        participants = Participants(store, carrier, self.clock)
        holder.append(participants)
        process = Process(store, carrier, participants)
        self.processes.append(process)
        return process

    async def placements_left(self) -> list[Placement]:
        async with self.processes[-1].store.write() as tx:
            return await tx.placements_before(math.inf)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    try:
        yield w
    finally:
        for process in w.processes:
            await process.carrier.close()
            await process.store.close()


async def interrupted_create(world: World) -> tuple[Process, asyncio.Task[object]]:
    """Process A: a Create whose call is placed, and never recorded."""
    a = await world.start()
    a.carrier.hang_after_placing = True
    task: asyncio.Task[object] = asyncio.ensure_future(a.participants.create(command("room")))
    await world.side.placed.wait()
    return a, task


async def stop(a: Process, task: asyncio.Task[object]) -> None:
    a.carrier.died.set()
    with pytest.raises(Died):
        await task


async def test_a_call_placed_and_never_recorded_is_ended_once_after_a_restart(
    world: World,
) -> None:
    a, task = await interrupted_create(world)
    (orphan,) = world.side.live
    [left] = await world.placements_left()
    assert left.account_sid == command().conference.account_sid
    # A dies here: its store goes, and its Create never records the call.
    await a.store.close()
    world.processes.remove(a)
    await a.carrier.close()
    b = await world.start()
    assert await b.participants.recover_placements(20.0, at_start=True) == 1
    assert world.side.kicked == [orphan] and not world.side.live
    assert await world.placements_left() == []
    # Asked again (another restart, the leader's next round): nothing more to do.
    assert await b.participants.recover_placements(20.0, at_start=True) == 0
    assert world.side.kicked == [orphan]
    assert await b.store.active_participants_everywhere() == []
    await stop(a, task)


async def test_a_placement_younger_than_the_bound_is_left_alone(world: World) -> None:
    # A Create in flight on a live replica: its placement is younger than the bound.
    a, task = await interrupted_create(world)
    (call,) = world.side.live
    b = await world.start()
    assert await b.participants.recover_placements(20.0, at_start=False) == 0
    assert world.side.kicked == [] and len(await world.placements_left()) == 1
    # Past the bound no Create can still be placing it: its call is ended.
    await world.clock.advance(21.0)
    assert await b.participants.recover_placements(20.0, at_start=False) == 1
    assert world.side.kicked == [call]
    await stop(a, task)


async def test_a_recorded_create_leaves_no_placement(world: World) -> None:
    a = await world.start()
    participant, _ = await a.participants.create(command("room"))
    assert participant.call_sid in world.side.live
    assert await world.placements_left() == []
    assert await a.participants.recover_placements(20.0, at_start=True) == 0
    assert world.side.kicked == []


async def test_a_refusal_leaves_no_placement_and_an_unreachable_carrier_keeps_it(
    world: World,
) -> None:
    a = await world.start()
    a.carrier.refuse = errors.dial_rejected("to_endpoint", 21217, "not a phone number")
    with pytest.raises(RollcallError):
        await a.participants.create(command("room"))
    assert await world.placements_left() == []
    # Unreachable: the carrier may have placed the call; recovery must look.
    a.carrier.refuse = RollcallError(
        Code.UNAVAILABLE, "CARRIER_UNAVAILABLE", "down", twilio_code=20503, http_status=503
    )
    with pytest.raises(RollcallError):
        await a.participants.create(command("room"))
    [kept] = await world.placements_left()
    # Nothing was placed after all: recovery forgets it, ending nothing.
    assert await a.participants.recover_placements(20.0, at_start=True) == 0
    assert world.side.kicked == [] and await world.placements_left() == []
    assert kept.key not in world.side.by_key


async def test_an_in_process_carrier_records_no_placement(world: World) -> None:
    a = await world.start()
    a.carrier.in_process = True
    await a.participants.create(command("room"))
    assert await world.placements_left() == []
