"""Query plans that keep per-conference cost independent of the whole service's size;
listing one account's conferences reads that account's index, never the whole
conferences table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.store.sqlite.store import SqliteStore


async def _plan(path: Path, sql: str) -> str:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("EXPLAIN QUERY PLAN " + sql, ("CF1",)).fetchall()
    finally:
        db.close()
    return " | ".join(str(r[-1]) for r in rows)


async def test_active_participants_of_one_conference_use_its_own_index(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "plans.sqlite3"))
    await store.open()
    await store.close()
    for sql in (
        "SELECT seq, data FROM participants WHERE conference_sid = ? AND active = 1 ORDER BY seq",
        "SELECT COUNT(*) FROM participants WHERE conference_sid = ? AND active = 1",
    ):
        plan = await _plan(tmp_path / "plans.sqlite3", sql)
        assert "participants_conference_active" in plan, plan
        assert "SCAN" not in plan, plan


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
