"""service.store.sqlite.checkpoints: the writer never checkpoints; committed pages
reach the database file by checkpoints run beside it."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from service.store.sqlite.store import SqliteStore
from tests.poll import eventually


def in_database_file(path: str, key: str) -> bool:
    """Whether `key` is in the main file itself (immutable: the WAL is not read)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as db:
        try:
            found = db.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no table yet: the schema is in the WAL too
            return False
        return found is not None


async def write(store: SqliteStore, key: str) -> None:
    async with store.write() as tx:
        await tx.conn.execute("INSERT INTO meta (key, value) VALUES (?, '1')", (key,))


async def test_commits_reach_the_file_by_checkpoints_beside_the_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3")
    store = SqliteStore(path)
    store.checkpoints.every = 3
    await store.open()
    try:
        assert store._writer is not None
        async with store._writer.execute("PRAGMA wal_autocheckpoint") as cursor:
            assert await cursor.fetchone() == (0,)  # Rule 1
        await write(store, "k1")
        await write(store, "k2")
        assert store.checkpoints.done == 0
        assert not in_database_file(path, "k1")  # committed, in the WAL only
        await write(store, "k3")
        await eventually(lambda: store.checkpoints.done == 1, "a checkpoint after 3 commits")
        assert all(in_database_file(path, key) for key in ("k1", "k2", "k3"))
        await write(store, "k4")
    finally:
        await store.close()
    assert in_database_file(path, "k4")  # the last checkpoint, at close
