"""Listing one account's conferences reads that account's index, never the
whole conferences table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.store.sqlite.store import SqliteStore


async def test_conference_list_uses_the_account_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.sqlite3"
    store = SqliteStore(str(path))
    await store.open()
    await store.close()
    db = sqlite3.connect(path)
    try:
        for sql in (
            "SELECT rowid, data FROM conferences WHERE account_sid = ? AND rowid < ?"
            " ORDER BY rowid DESC LIMIT 51",
            "SELECT rowid, data FROM conferences WHERE account_sid = ? AND status = ?"
            " AND rowid > ? ORDER BY rowid LIMIT 51",
        ):
            params = ("AC1", 10) if sql.count("?") == 2 else ("AC1", "init", 10)
            rows = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            plan = " | ".join(str(r[-1]) for r in rows)
            assert "conferences_account" in plan, plan
            assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
    finally:
        db.close()
