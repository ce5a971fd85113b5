"""The store contract for placements (calls a Create placed at a remote
carrier and has not recorded yet), on every adapter: memory, SQLite and
PostgreSQL (the fixtures of tests/contract/conftest.py)."""

from __future__ import annotations

import math

import pytest

from service.core.ports.store import Placement, Store
from tests.fakes.stores import AC, Backend

CF = "CF" + "c" * 32


async def left(store: Store, before: float) -> list[Placement]:
    async with store.write() as tx:
        return await tx.placements_before(before)


async def test_placements_are_recorded_read_by_age_and_forgotten(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_placement("RKnew", AC, CF, 30.0)
        await tx.record_placement("RKold", AC, CF, 10.0)
        await tx.record_placement("RKmid", "AC" + "b" * 32, "CF" + "d" * 32, 20.0)
    assert await left(store, 30.0) == [
        Placement("RKold", AC, CF, 10.0),
        Placement("RKmid", "AC" + "b" * 32, "CF" + "d" * 32, 20.0),
    ]
    assert await left(store, 10.0) == []
    assert len(await left(store, math.inf)) == 3
    async with store.write() as tx:
        await tx.forget_placement("RKold")
        await tx.forget_placement("RKunknown")  # nothing to forget: no error
    assert [p.key for p in await left(store, 100.0)] == ["RKmid", "RKnew"]


async def test_the_same_key_again_keeps_the_newer_placement(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_placement("RKsame", AC, CF, 10.0)
    async with store.write() as tx:
        await tx.record_placement("RKsame", AC, "CF" + "e" * 32, 50.0)
    assert await left(store, 100.0) == [Placement("RKsame", AC, "CF" + "e" * 32, 50.0)]


async def test_a_placement_rolled_back_with_its_transaction_is_not_kept(store: Store) -> None:
    async def refused() -> None:
        async with store.write() as tx:
            await tx.record_placement("RKgone", AC, CF, 10.0)
            raise RuntimeError("the Create was refused")

    with pytest.raises(RuntimeError):
        await refused()
    assert await left(store, 100.0) == []


async def test_placements_survive_reopening_the_store(backend: Backend) -> None:
    async with backend.open() as s, s.write() as tx:
        await tx.record_placement("RKkept", AC, CF, 10.0)
    async with backend.open() as s:
        assert [p.key for p in await left(s, 100.0)] == ["RKkept"]


async def test_mine_adds_this_process_s_own_placements_of_any_age(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_placement("RKyoung", AC, CF, 100.0)
        assert await tx.placements_before(50.0) == []
        assert await tx.placements_before(50.0, mine=True) == [Placement("RKyoung", AC, CF, 100.0)]


async def test_another_replica_s_young_placement_is_not_mine(
    replicated_backend: Backend,
) -> None:
    async with (
        replicated_backend.open(owner="replica-a") as mine,
        replicated_backend.open(owner="replica-b") as other,
    ):
        async with other.write() as tx:
            await tx.record_placement("RKtheirs", AC, CF, 100.0)
        async with mine.write() as tx:
            await tx.record_placement("RKmine", AC, CF, 100.0)
            assert [p.key for p in await tx.placements_before(50.0, mine=True)] == ["RKmine"]
            assert [p.key for p in await tx.placements_before(150.0)] == ["RKmine", "RKtheirs"]
