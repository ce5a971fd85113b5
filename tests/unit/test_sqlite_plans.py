"""Query plans that keep per-conference cost independent of the whole service's size."""

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
