"""The growth benchmark's bulk loader (bench.growth): the database it writes is
what the store reads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import growth
from service.core.statuses import ParticipantStatus
from service.store.sqlite.store import SqliteStore


def _schema(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        return {(name, sql) for name, sql in rows}


async def test_bulk_loaded_database_is_what_the_store_reads(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded.sqlite3"
    growth.build(loaded, 450)
    fresh = SqliteStore(str(tmp_path / "fresh.sqlite3"))
    await fresh.open()
    await fresh.close()
    assert _schema(loaded) == _schema(tmp_path / "fresh.sqlite3")

    store = SqliteStore(str(loaded))
    await store.open()
    try:
        for name in growth.sample_names(450, 5):
            parts = name.split("/")
            found = await store.participant(parts[3], parts[5], include_ended=True)
            assert found is not None and found.call_sid == parts[5]
            assert found.status is ParticipantStatus.COMPLETE
            assert await store.participant(parts[3], parts[5], include_ended=False) is None
        conference = growth.conference_sid(2)
        events = await store.events(conference, 0, 1000)
        assert [e.revision for e in events] == list(range(1, 52))  # 50 leaves, then the end
        assert await store.webhook_backlog() == []
        assert await store.active_participants_everywhere() == []
    finally:
        await store.close()
