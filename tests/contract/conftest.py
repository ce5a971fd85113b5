"""The store contract's fixtures: each test runs on every adapter of the port.

Rule 1: `backend` is parametrised over memory, sqlite and postgres (one
        database per test; see tests/fakes/stores.py), and `store` is a store
        opened on it: a test that takes either runs on all three.
Rule 2: a test about what only some adapters have takes a fixture named for
        them (`replicated_backend`: the adapters with several processes on one
        database, memory and postgres; `single_writer_backend`: the adapter
        whose changes queue for one writer connection while it waits on the
        disk, SQLite), so no adapter is skipped silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.core.ports.store import Store
from tests.fakes.stores import KINDS, Backend


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    async with backend.open() as s:
        yield s


@pytest.fixture(params=("memory", "postgres"))
def replicated_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, tmp_path)


@pytest.fixture(params=("sqlite",))
def single_writer_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, tmp_path)
