"""Compaction prunes the carrier callback dedup tokens on every store (the
`store` fixture of tests/contract/conftest.py)."""

from __future__ import annotations

from service.core.ports.store import Store


async def test_compaction_prunes_old_carrier_callback_tokens(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_carrier_callback("old", 1.0)
        await tx.record_carrier_callback("new", 5.0)
    await store.compact(older_than=3.0, keep=0)
    async with store.write() as tx:
        assert not await tx.carrier_callback_seen("old")
        assert await tx.carrier_callback_seen("new")
