"""Reading a test server's database directly, whichever store it runs on.

The rule it keeps: tests that check rows on disk ask the same database the
server used (tests.conftest.server_database), SQLite file or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import sqlite3
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
