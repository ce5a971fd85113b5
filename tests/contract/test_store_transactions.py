"""The store contract for write transactions, on every adapter (the `store`
fixture of tests/contract/conftest.py): isolation, all-or-nothing, the
schema's rules, and what a transaction hands out being the caller's own."""

from __future__ import annotations

import asyncio

import pytest

from service.core.events import Event, EventType
from service.core.ports.store import ParticipantFilter, Store
from service.core.records import Conference
from service.core.statuses import ConferenceStatus
from tests.fakes.stores import AC, add, conference, participant


async def store_conference(store: Store, conf: Conference) -> None:
    async with store.write() as tx:
        await tx.insert_conference(conf)


async def test_readers_never_see_a_change_before_its_commit(store: Store) -> None:
    conf = conference("open")
    inside, done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with store.write() as tx:
            await tx.insert_conference(conf)
            await tx.insert_participant(participant(conf, "agent"))
            inside.set()
            await done.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await store.conference(AC, conf.sid) is None
    assert await store.active_conference_named(AC, "open") is None
    assert await store.participant(conf.sid, "agent", include_ended=True) is None
    assert (await store.list_participants(conf.sid, ParticipantFilter(), page_size=5)).revision == 0
    done.set()
    await task
    assert await store.conference(AC, conf.sid) is not None
    assert await store.participant(conf.sid, "agent", include_ended=True) is not None


async def test_a_change_that_raises_leaves_nothing_in_any_table(store: Store) -> None:
    conf = conference()
    p = participant(conf, "agent")

    async def refused() -> None:
        async with store.write() as tx:
            await tx.insert_conference(conf)
            await tx.insert_participant(p)
            conf.revision = 1
            await tx.append_events(
                [Event(conf.sid, AC, 1, 1.0, EventType.PARTICIPANT_JOINED, conf, p)]
            )
            await tx.update_conference(conf)
            await tx.record_request(AC, "req", p.call_sid, "fp", 1.0)
            await tx.save_carrier_call(p.call_sid, "CF" + "9" * 32, 3, 1.0)
            await tx.save_carrier_event_sequence("scope", 4)
            await tx.record_carrier_callback("token", 1.0)
            await tx.record_placement("RKkey", AC, conf.sid, 1.0)
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refused()
    assert await store.conference(AC, conf.sid) is None
    assert await store.events(conf.sid, 0, 10) == []
    assert await store.active_participants_everywhere() == []
    async with store.write() as tx:
        assert await tx.participant_by_call_sid(p.call_sid) is None
        assert await tx.request(AC, "req") is None
        assert await tx.carrier_call(p.call_sid) is None
        assert await tx.carrier_event_sequence("scope") is None
        assert not await tx.carrier_callback_seen("token")
        assert await tx.placements_before(100.0) == []


async def test_the_schema_s_rules_refuse_a_change(store: Store) -> None:
    conf = conference("taken")
    await store_conference(store, conf)
    await add(store, conf, participant(conf))
    async with store.write() as tx:
        await tx.record_request(AC, "req", "CA" + "1" * 32, "fp", 1.0)
    refusals = {
        "a second active conference of one name": lambda tx: tx.insert_conference(
            conference("taken")
        ),
        "a second event of one revision": lambda tx: tx.append_events(
            [Event(conf.sid, AC, 1, 2.0, EventType.PARTICIPANT_JOINED, conf)]
        ),
        "a request id recorded twice": lambda tx: tx.record_request(
            AC, "req", "CA" + "2" * 32, "fp", 2.0
        ),
    }
    for why, write in refusals.items():
        with pytest.raises(Exception):  # noqa: B017, PT011 - each adapter's own error
            async with store.write() as tx:
                await write(tx)
        assert [e.time for e in await store.events(conf.sid, 0, 10)] == [1.0], why
    # A completed conference frees its name.
    conf.status = ConferenceStatus.COMPLETED
    async with store.write() as tx:
        await tx.update_conference(conf)
        await tx.insert_conference(conference("taken"))


async def test_what_a_transaction_reads_is_the_caller_s_own(store: Store) -> None:
    conf = conference()
    await store_conference(store, conf)
    p = await add(store, conf, participant(conf, "agent"))
    async with store.write() as tx:
        read = await tx.participant(conf.sid, p.call_sid)
        assert read is not None
        read.muted = True  # changed, and never written back
        locked = await tx.conference(AC, conf.sid)
        assert locked is not None
        locked.friendly_name = "changed"
    again = await store.participant(conf.sid, p.call_sid, include_ended=False)
    assert again is not None and not again.muted
    found = await store.conference(AC, conf.sid)
    assert found is not None and found.friendly_name == "room"
    # What was written is a snapshot: changing the object afterwards changes nothing.
    p.muted = True
    again = await store.participant(conf.sid, p.call_sid, include_ended=False)
    assert again is not None and not again.muted
