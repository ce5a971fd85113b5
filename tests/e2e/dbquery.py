"""Reading a test server's database directly, whichever store it runs on.

The rule it keeps: tests that check rows on disk ask the same database the
server used (tests.conftest.server_database), SQLite file or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from tests import pg


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Runs sql (with ? placeholders) on the database at path; returns every row."""
    if pg.test_store() != "postgres":
        db = sqlite3.connect(path)
        try:
            return [tuple(row) for row in db.execute(sql, args).fetchall()]
        finally:
            db.close()
    counter = iter(range(1, len(args) + 1))
    pg_sql = re.sub(r"\?", lambda _m: f"${next(counter)}", sql)

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(pg.database_for(str(path)))
        try:
            return [tuple(row) for row in await conn.fetch(pg_sql, *args)]
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _sqlite_files(path: Path) -> list[Path]:
    """The SQLite database's files once checkpointed and vacuumed: the main
    file, and whatever WAL and shared memory are left."""
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return [p for p in path.parent.glob(path.name + "*") if p.is_file()]


async def _postgres_files(dsn: str) -> list[Path]:
    """The database's own relation files under the throwaway server's data
    directory (base/OID), once VACUUM FULL has rewritten every table and a
    CHECKPOINT has written them out. The write-ahead log (pg_wal) is not read:
    it keeps old bytes until its segments are recycled, like a backup would
    (docs/security.md says what the operator must do about both)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM FULL")
        await conn.execute("CHECKPOINT")
        data = Path(await conn.fetchval("SHOW data_directory"))
        oid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
    finally:
        await conn.close()
    return [p for p in (data / "base" / str(oid)).iterdir() if p.is_file()]


async def files_hold(database: str, traces: Sequence[str]) -> bool:
    """Whether any of `traces` is in a byte of the database's files, after a
    checkpoint and a vacuum (SQLite: the file and its WAL; PostgreSQL: the
    database's relation files)."""
    if database.startswith("postgresql://"):
        files = await _postgres_files(database)
    else:
        files = await asyncio.to_thread(_sqlite_files, Path(database))
    assert files, "no database files found"
    needles = [trace.encode() for trace in traces]
    for file in files:
        content = await asyncio.to_thread(file.read_bytes)
        if any(needle in content for needle in needles):
            return True
    return False
