"""The app opens the dead-letter adapter of its store's database.

Rule 1: only the SQL stores: the app never opens a memory store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.app import open_dead_letters
from service.store.postgres.dead_letters import PgDeadLetters
from service.store.sqlite.dead_letters import DeadLetters
from tests.fakes.stores import Backend


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_the_app_picks_the_dead_letter_adapter_of_its_store(
    kind: str, tmp_path: Path
) -> None:
    expected = PgDeadLetters if kind == "postgres" else DeadLetters
    async with Backend(kind, tmp_path).open() as store:
        assert isinstance(open_dead_letters(store), expected)
