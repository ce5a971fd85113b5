"""The SQLite schema's numbered migrations: found, split and applied at open.

Rule 1: migrations apply in version order (the number before the first underscore
        of the file name).
Rule 2: each applies in its own transaction together with its row in
        schema_migrations, so a migration is applied whole or not at all and never
        twice.
Rule 3: a file is split into statements by SQLite's own parser
        (sqlite3.complete_statement), so comments and string literals may hold
        semicolons and the last statement may omit its own.
Rule 4: a file ending in an unfinished statement (an open string or comment) is
        refused.
"""

from __future__ import annotations

import sqlite3
import time
from importlib import resources

import aiosqlite


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    folder = resources.files("service.store.sqlite") / "sql"
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """The complete statements of a script, in order (comments kept with the
    statement they precede). Raises ValueError on an unfinished last one."""
    found: list[str] = []
    start = 0
    for at, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : at + 1]):
            found.append(sql[start : at + 1].strip())
            start = at + 1
    rest = sql[start:].strip()
    if any(line.strip() and not line.lstrip().startswith("--") for line in rest.splitlines()):
        # A last statement may go without its semicolon, but must be whole.
        if not sqlite3.complete_statement(rest + ";"):
            raise ValueError(f"unfinished statement at the end: {rest[:80]!r}")
        found.append(rest)
    return found


async def migrate(conn: aiosqlite.Connection) -> None:
    """Apply every migration not yet recorded in schema_migrations."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        applied = {row[0] for row in await cur.fetchall()}
    for version, name, sql in migrations():
        if version in applied:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, time.time()),
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
