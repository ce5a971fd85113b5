"""Compaction prunes the carrier callback dedup tokens on every store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from service.core.ports.store import Store
from tests.contract.test_store_contract import STORES


@pytest.fixture(params=sorted(STORES))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    make: Callable[[Path], Any] = STORES[request.param]
    async with make(tmp_path) as s:
        yield s


async def test_compaction_prunes_old_carrier_callback_tokens(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_carrier_callback("old", 1.0)
        await tx.record_carrier_callback("new", 5.0)
    await store.compact(older_than=3.0, keep=0)
    async with store.write() as tx:
        assert not await tx.carrier_callback_seen("old")
        assert await tx.carrier_callback_seen("new")
