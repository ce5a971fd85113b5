"""The migration runner splits scripts with SQLite's own parser: semicolons in
comments and string literals are safe; an unfinished statement is refused;
every shipped migration applies to a fresh database, once."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest

from service.store.sqlite.migrations import migrate, migrations, statements


def test_semicolons_in_comments_and_strings_do_not_split() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "/* block; comment */ INSERT INTO t VALUES ('c;d'); INSERT INTO t VALUES ('e');\n"
        "-- trailing comment; done\n"
    )
    assert statements(script) == [
        "-- a comment; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT 'a;b');",
        "/* block; comment */ INSERT INTO t VALUES ('c;d');",
        "INSERT INTO t VALUES ('e');",
    ]


def test_an_unfinished_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="unfinished"):
        statements("CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES ('open")


def test_the_last_statement_may_omit_its_semicolon() -> None:
    assert statements("CREATE TABLE t (x INTEGER);\nCREATE TABLE u (y INTEGER)\n") == [
        "CREATE TABLE t (x INTEGER);",
        "CREATE TABLE u (y INTEGER)",
    ]


async def test_every_shipped_migration_applies_once(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "m.sqlite3", isolation_level=None) as conn:
        await migrate(conn)
        await migrate(conn)
        async with conn.execute("SELECT version FROM schema_migrations ORDER BY version") as cur:
            applied = [row[0] for row in await cur.fetchall()]
    assert applied == [version for version, _, _ in migrations()]
    assert all(statements(sql) for _, _, sql in migrations())
