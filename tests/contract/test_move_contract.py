"""Moves on every store: atomic in the record, and safe under concurrency.

Each store of the port (memory, SQLite, PostgreSQL) runs the assembled core
with the simulated carrier. Where the store has several processes on one
database (memory, PostgreSQL), the moves go through four cores on four store
instances, as four replicas would, so the store's own locking is what keeps
them apart (with the conferences locked in any other order than by SID,
PostgreSQL finds a deadlock here). 100 concurrent cross moves between two conferences in both
directions (lock order) never deadlock and never lose a participant; every
move is one revision in each conference, its two events sharing one move id.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.errors import RollcallError
from service.core.events import Event, EventType
from service.core.move import MoveCommand
from service.core.ports.store import ParticipantFilter, Store
from service.core.records import Participant
from tests.fakes.core import AC, TestCore, command, sink_to
from tests.fakes.stores import Backend

CROSS = 50  # each way: 100 moves


@pytest.fixture
async def cores(backend: Backend) -> AsyncIterator[list[TestCore]]:
    clock = ManualClock()
    holder: list[TestCore] = []
    carrier = SimulatedCarrier(clock, sink_to(holder), ring_seconds=1.0, calls_per_second=0)
    replicas = ("one", "two", "three", "four") if backend.kind != "sqlite" else ("",)
    stores: list[Store] = []
    try:
        for owner in replicas:
            store = backend.new(owner)
            await store.open()
            stores.append(store)
            holder.append(TestCore(store, carrier, clock))
        yield holder
    finally:
        await carrier.close()
        for store in stores:
            await store.close()


async def active(core: TestCore, conference_sid: str) -> list[Participant]:
    page = await core.store.list_participants(conference_sid, ParticipantFilter(), page_size=1000)
    return list(page.participants)


async def all_events(core: TestCore, conference_sid: str) -> list[Event]:
    return await core.store.events(conference_sid, 0, 10_000)


@pytest.mark.slow
async def test_cross_moves_in_both_directions_never_deadlock_or_lose_anyone(
    cores: list[TestCore],
) -> None:
    first = cores[0]

    async def make(room: str, label: str) -> Participant:
        p, _ = await first.create(command(room, label=label))
        return p

    # One anchor each stays, so neither conference ends while emptied.
    a_anchor, b_anchor = await make("a", "anchor-a"), await make("b", "anchor-b")
    a, b = a_anchor.conference_sid, b_anchor.conference_sid
    east = await asyncio.gather(*(make("a", f"e{i}") for i in range(CROSS)))
    west = await asyncio.gather(*(make("b", f"w{i}") for i in range(CROSS)))

    def move(i: int, p: Participant, src: str, dst: str):  # type: ignore[no-untyped-def,unused-ignore]
        core = cores[i % len(cores)]
        return core.participants.move(
            ConferenceRef(AC, src), p.call_sid, MoveCommand(ConferenceRef(AC, dst))
        )

    moves = [move(i, p, a, b) for i, p in enumerate(east)]
    moves += [move(i + 1, p, b, a) for i, p in enumerate(west)]
    done = await asyncio.wait_for(asyncio.gather(*moves), 120)
    assert len({m.move.id for m in done}) == 2 * CROSS

    in_a = {p.call_sid for p in await active(first, a)}
    in_b = {p.call_sid for p in await active(first, b)}
    assert in_a == {a_anchor.call_sid, *(p.call_sid for p in west)}
    assert in_b == {b_anchor.call_sid, *(p.call_sid for p in east)}
    for conference in (a, b):
        events = await all_events(first, conference)
        assert [e.revision for e in events] == list(range(1, len(events) + 1))  # no gap
    pairs: dict[str, list[Event]] = collections.defaultdict(list)
    for conference in (a, b):
        for e in await all_events(first, conference):
            if e.move is not None:
                pairs[e.move.id].append(e)
    assert len(pairs) == 2 * CROSS
    for events in pairs.values():
        out, into = sorted(events, key=lambda e: e.type is EventType.PARTICIPANT_MOVED_IN)
        assert (out.type, into.type) == (
            EventType.PARTICIPANT_MOVED_OUT,
            EventType.PARTICIPANT_MOVED_IN,
        )
        assert out.move is not None and into.move is not None
        assert out.conference_sid == out.move.from_conference == into.move.from_conference
        assert into.conference_sid == into.move.to_conference == out.move.to_conference
        assert (
            into.participant is not None and into.participant.conference_sid == into.conference_sid
        )


async def test_a_refused_move_changes_neither_conference(cores: list[TestCore]) -> None:
    core = cores[0]
    p, _ = await core.create(command("from", label="mover"))
    await core.create(command("from"))
    full, _ = await core.create(command("full", max_participants=2))
    await core.create(command("full", label="mover"))
    src = ConferenceRef(AC, p.conference_sid)
    before = {
        sid: (await core.conference(ConferenceRef(AC, sid))).revision
        for sid in (p.conference_sid, full.conference_sid)
    }
    for destination, reason in (
        (full.conference_sid, "CONFERENCE_FULL"),
        (p.conference_sid, "INVALID_ARGUMENT"),
    ):
        with pytest.raises(RollcallError) as caught:
            await core.participants.move(
                src, p.call_sid, MoveCommand(ConferenceRef(AC, destination))
            )
        assert caught.value.reason == reason
    after = {sid: (await core.conference(ConferenceRef(AC, sid))).revision for sid in before}
    assert after == before
    assert (await core.fetch(src, p.call_sid, include_ended=False)).conference_sid == src.key


async def test_a_move_to_a_new_conference_by_name_creates_it(cores: list[TestCore]) -> None:
    core = cores[-1]
    await core.create(command("old", label="mover"))
    await core.create(command("old"))
    p = await core.fetch(ConferenceRef(AC, "old"), "mover", include_ended=False)
    moved = await core.participants.move(
        ConferenceRef(AC, "old"), "mover", MoveCommand(ConferenceRef(AC, "brand-new"))
    )
    new = await core.conference(ConferenceRef(AC, "brand-new"))
    assert moved.participant.conference_sid == new.sid != p.conference_sid
    assert [e.type for e in await all_events(core, new.sid)] == [EventType.PARTICIPANT_MOVED_IN]
    found = await core.fetch(ConferenceRef(AC, new.sid), "mover", include_ended=False)
    assert found.revision == 1 and found.seq == p.seq  # the same row, in its new conference
