"""What the memory store keeps beyond the store contract (tests/contract).

Rule 1: every read hands out the caller's own copy, plain reads included.
Rule 2: stores on one MemoryDatabase share its commits and its one writer.
Rule 3: a closed store and an ended transaction refuse to be used.
"""

from __future__ import annotations

import asyncio

import pytest

from service.core.events import Event, EventType
from service.core.ports.dead_letters import DeadLetter
from service.core.ports.store import ParticipantFilter
from service.store.memory.dead_letters import MemoryDeadLetters
from service.store.memory.store import MemoryStore
from service.store.memory.tables import MemoryDatabase
from tests.fakes.stores import AC, add, conference, participant


async def opened(database: MemoryDatabase | None = None) -> MemoryStore:
    store = MemoryStore(database)
    await store.open()
    return store


async def test_plain_reads_hand_out_copies() -> None:
    store = await opened()
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf, "agent"))
    listed = await store.list_participants(conf.sid, ParticipantFilter(), page_size=5)
    listed.participants[0].muted = True
    found = await store.participant_in(AC, conf.sid, True, "agent", include_ended=False)
    assert found is not None and not found.muted
    found.label = "changed"
    (event,) = await store.events(conf.sid, 0, 5)
    assert event.participant is not None
    event.participant.hold = True
    event.conference.friendly_name = "changed"
    (again,) = await store.events(conf.sid, 0, 5)
    assert again.participant is not None and not again.participant.hold
    assert again.conference.friendly_name == "room"
    everywhere = await store.active_participants_everywhere()
    assert [x.label for x in everywhere] == ["agent"] and everywhere[0] is not found
    assert (await store.participant(conf.sid, p.call_sid, include_ended=True)) == p


async def test_dead_letters_hand_out_their_own_forms() -> None:
    store = await opened()
    letters = MemoryDeadLetters(store)
    form = {"CallSid": "CA1"}
    letter = DeadLetter(
        AC, "CF1", 1, "participant", None, "join", "POST", "https://example.com/cb",
        form, "tok", 3, "http 500", 1.0,
    )  # fmt: skip
    await letters.add(letter)
    form["CallSid"] = "changed"  # after it was given up on
    (kept,) = await letters.list(AC)
    kept.params["CallSid"] = "changed too"
    (again,) = await letters.list(AC)
    assert again.params == {"CallSid": "CA1"} and again.id == 1


async def test_stores_on_one_database_share_commits_and_write_one_at_a_time() -> None:
    database = MemoryDatabase()
    first, second = await opened(database), await opened(database)
    conf = conference()
    order: list[str] = []
    inside = asyncio.Event()
    done = asyncio.Event()

    async def long_change() -> None:
        async with first.write() as tx:
            order.append("first begins")
            await tx.insert_conference(conf)
            inside.set()
            await done.wait()
            order.append("first ends")

    async def short_change() -> None:
        async with second.write() as tx:
            assert await tx.conference(AC, conf.sid) is not None  # first's, committed
            order.append("second")

    long_task = asyncio.create_task(long_change())
    await inside.wait()
    short_task = asyncio.create_task(short_change())  # queued ahead of first's wake-up
    done.set()
    await long_task
    await short_task
    assert order == ["first begins", "first ends", "second"]
    assert await second.conference(AC, conf.sid) is not None


async def test_a_closed_store_and_an_ended_transaction_refuse() -> None:
    store = await opened()
    async with store.write() as tx:
        pass
    with pytest.raises(RuntimeError, match="over"):
        await tx.insert_conference(conference())
    await store.close()
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_meta("k")
    with pytest.raises(RuntimeError, match="not open"):
        async with store.write():
            pass
    await store.open()  # the database outlives a close, as a file does
    assert await store.get_meta("k") is None


async def test_an_event_s_snapshot_is_taken_when_it_is_appended() -> None:
    store = await opened()
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
        event = Event(conf.sid, AC, 1, 1.0, EventType.CONFERENCE_STARTED, conf)
        await tx.append_events([event])
    conf.friendly_name = "renamed"
    (kept,) = await store.events(conf.sid, 0, 5)
    assert kept.conference.friendly_name == "room"
