"""The store contract: every adapter (memory, SQLite, PostgreSQL) must pass these.

Rule 1: each test takes `store` or `backend` (tests/contract/conftest.py), so
        it runs on every adapter; PostgreSQL on the session's throwaway server.
"""

from __future__ import annotations

import asyncio

import pytest

from service.core.ports.store import ParticipantFilter, Store
from service.core.statuses import ParticipantStatus
from tests.fakes.stores import AC, Backend, add, conference, participant


async def test_write_commits_everything_or_nothing(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf))

    async def abort() -> None:
        async with store.write() as tx:
            p.muted = True
            await tx.update_participant(p)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await abort()
    found = await store.participant(conf.sid, p.call_sid, include_ended=False)
    assert found is not None and not found.muted
    assert [e.revision for e in await store.events(conf.sid, 0, 10)] == [1]


async def test_active_label_unique_and_name_lookup(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    first = await add(store, conf, participant(conf, "agent"))
    with pytest.raises(Exception, match=r"UNIQUE|unique"):
        await add(store, conf, participant(conf, "agent"))
    first.status = ParticipantStatus.COMPLETE
    async with store.write() as tx:
        await tx.update_participant(first)
    second = await add(store, conf, participant(conf, "agent"))
    found = await store.participant(conf.sid, "agent", include_ended=True)
    assert found is not None and found.call_sid == second.call_sid
    assert await store.active_conference_named(AC, "room") is not None
    assert await store.active_conference_named("AC" + "b" * 32, "room") is None


async def test_list_pages_both_ways_with_filters(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    made = [await add(store, conf, participant(conf, muted=i % 2 == 0)) for i in range(5)]
    page = await store.list_participants(conf.sid, ParticipantFilter(), page_size=2)
    assert [p.call_sid for p in page.participants] == [m.call_sid for m in made[:2]]
    assert page.previous_before is None and page.next_after is not None
    assert page.revision == 5
    nxt = await store.list_participants(
        conf.sid, ParticipantFilter(), page_size=2, after=page.next_after
    )
    assert [p.call_sid for p in nxt.participants] == [m.call_sid for m in made[2:4]]
    back = await store.list_participants(
        conf.sid, ParticipantFilter(), page_size=2, before=nxt.previous_before
    )
    assert [p.call_sid for p in back.participants] == [m.call_sid for m in made[:2]]
    muted = await store.list_participants(conf.sid, ParticipantFilter(muted=True), page_size=10)
    assert len(muted.participants) == 3


async def test_list_filters_by_every_attribute_given(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    kinds = [
        {"role": "agent", "team.name": "blue-1"},
        {"role": "agent"},
        {"role": "customer", "team.name": "blue-1"},
        {},
    ]
    made = []
    for attrs in kinds:
        p = participant(conf)
        p.attributes = attrs
        made.append(await add(store, conf, p))

    async def listed(*pairs: tuple[str, str]) -> list[str]:
        flt = ParticipantFilter(attributes=pairs)
        page = await store.list_participants(conf.sid, flt, page_size=10)
        return [p.call_sid for p in page.participants]

    assert await listed(("role", "agent")) == [made[0].call_sid, made[1].call_sid]
    both = await listed(("role", "agent"), ("team.name", "blue-1"))
    assert both == [made[0].call_sid]
    assert await listed(("role", "nobody")) == []
    assert await listed(("role", "agent' OR 1=1 --")) == []
    found = await store.participant(conf.sid, made[2].call_sid, include_ended=False)
    assert found is not None and found.attributes == {"role": "customer", "team.name": "blue-1"}


async def test_compaction_keeps_the_newest(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    for _ in range(6):
        await add(store, conf, participant(conf))
    assert await store.compact(older_than=2.0, keep=2) == 4
    assert await store.oldest_revision(conf.sid) == 5
    assert [e.revision for e in await store.events(conf.sid, 0, 10)] == [5, 6]


async def test_meta_and_reopen(backend: Backend) -> None:
    async with backend.open() as s:
        await s.set_meta("k", "v1")
        await s.set_meta("k", "v2")
    async with backend.open() as s:  # migrations are not applied twice
        assert await s.get_meta("k") == "v2"


async def test_concurrent_changes_commit_together_and_fail_alone(store: Store) -> None:
    """Changes that queue up may share a commit (group commit); each is durable and
    visible to readers when its write() returns, and a failing one rolls back alone."""

    confs = [conference(f"room{i}") for i in range(20)]
    async with store.write() as tx:
        for conf in confs:
            await tx.insert_conference(conf)

    async def change(i: int) -> str:
        p = participant(confs[i])
        async with store.write() as tx:
            confs[i].revision += 1
            p.revision = confs[i].revision
            await tx.insert_participant(p)
            await tx.update_conference(confs[i])
            if i == 7:
                raise ValueError("this one fails")
        # Durable and visible to other connections as soon as write() returns.
        assert await store.participant(confs[i].sid, p.call_sid, include_ended=False) is not None
        return p.call_sid

    results = await asyncio.gather(*(change(i) for i in range(20)), return_exceptions=True)
    assert [i for i, r in enumerate(results) if isinstance(r, ValueError)] == [7]
    assert await store.participant(confs[7].sid, "x", include_ended=True) is None
    page = await store.list_participants(confs[7].sid, ParticipantFilter(), page_size=10)
    assert page.participants == () and page.revision == 0
    for i in (0, 19):
        page = await store.list_participants(confs[i].sid, ParticipantFilter(), page_size=10)
        assert len(page.participants) == 1 and page.revision == 1
