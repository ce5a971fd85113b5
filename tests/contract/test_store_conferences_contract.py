"""The store contract for listing conferences (Store.list_conferences), on
every adapter (the `store` fixture of tests/contract/conftest.py)."""

from __future__ import annotations

import dataclasses

from service.core.ports.store import ConferenceFilter, Store
from service.core.records import Conference
from service.core.statuses import ConferenceStatus
from tests.fakes import stores
from tests.fakes.stores import AC, OTHER


def conference(name: str, created: float, **fields: object) -> Conference:
    values: dict[str, object] = {"date_created": created, "date_updated": created}
    values.update(fields)
    return stores.conference(name, **values)


async def insert(store: Store, *conferences: Conference) -> None:
    for conf in conferences:
        async with store.write() as tx:
            await tx.insert_conference(conf)


async def names(store: Store, flt: ConferenceFilter, **paging: object) -> list[str]:
    page = await store.list_conferences(AC, flt, page_size=100, **paging)  # type: ignore[arg-type]
    return [c.friendly_name for c in page.conferences]


async def test_newest_first_filters_and_tenancy(store: Store) -> None:
    done = conference("c", 30.0, status=ConferenceStatus.COMPLETED, date_updated=45.0)
    await insert(
        store,
        conference("a", 10.0),
        conference("b", 20.0, status=ConferenceStatus.IN_PROGRESS),
        done,
        conference("theirs", 25.0, account_sid=OTHER),
    )
    assert await names(store, ConferenceFilter()) == ["c", "b", "a"]
    assert await names(store, ConferenceFilter(friendly_name="b")) == ["b"]
    assert await names(store, ConferenceFilter(status=ConferenceStatus.COMPLETED)) == ["c"]
    assert await names(store, ConferenceFilter(created_from=20.0)) == ["c", "b"]
    assert await names(store, ConferenceFilter(created_before=20.0)) == ["a"]
    assert await names(store, ConferenceFilter(updated_from=40.0)) == ["c"]
    assert await names(store, ConferenceFilter(updated_from=20.0, updated_before=30.0)) == ["b"]
    page = await store.list_conferences(AC, ConferenceFilter(), page_size=1)
    assert page.conferences[0] == done  # the whole row round-trips
    assert dataclasses.asdict(page.conferences[0]) == dataclasses.asdict(done)


async def test_pages_forwards_and_back(store: Store) -> None:
    await insert(store, *(conference(f"n{i}", float(i)) for i in range(5)))
    first = await store.list_conferences(AC, ConferenceFilter(), page_size=2)
    assert [c.friendly_name for c in first.conferences] == ["n4", "n3"]
    assert first.previous_after is None and first.next_before is not None
    second = await store.list_conferences(
        AC, ConferenceFilter(), page_size=2, before=first.next_before
    )
    assert [c.friendly_name for c in second.conferences] == ["n2", "n1"]
    assert second.previous_after is not None and second.next_before is not None
    last = await store.list_conferences(
        AC, ConferenceFilter(), page_size=2, before=second.next_before
    )
    assert [c.friendly_name for c in last.conferences] == ["n0"]
    assert last.next_before is None
    back = await store.list_conferences(
        AC, ConferenceFilter(), page_size=2, after=second.previous_after
    )
    assert [c.friendly_name for c in back.conferences] == ["n4", "n3"]
    assert back.previous_after is None
