"""What the soak reads: the database's size, and when maintenance ran.

Rule 1: measure() reads the size: on SQLite the file plus WAL and the pages in
        use (page_count - freelist_count); on PostgreSQL the tables with their
        indexes and TOAST, and the dead rows autovacuum has yet to make reusable;
        and how many participants are live and ended.
Rule 2: watch_maintenance() reads the server's rollcall_maintenance_* metrics every
        POLL seconds and records each poll interval in which a retention pass or
        a compaction ran (Busy).
Rule 3: a read of the SQLite file is read-only (`mode=ro`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
import time
import urllib.request
from pathlib import Path

import asyncpg

POLL = 0.1


@dataclasses.dataclass
class Size:
    at: float  # seconds since the load began
    file_bytes: int  # database file plus WAL
    used_bytes: int  # pages in use (page_count - freelist_count)
    free_pages: int
    live: int
    ended: int


@dataclasses.dataclass
class Busy:
    """When maintenance ran: (start, end) of each poll interval it touched."""

    retention: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    compaction: list[tuple[float, float]] = dataclasses.field(default_factory=list)


def measure(database: Path | str, began: float) -> Size:
    if isinstance(database, str):
        return asyncio.run(_measure_postgres(database, began))
    wal = Path(f"{database}-wal")
    file_bytes = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        counts = dict(conn.execute("SELECT active, COUNT(*) FROM participants GROUP BY active"))
    finally:
        conn.close()
    return Size(
        time.monotonic() - began,
        file_bytes,
        (pages - free) * page_size,
        free,
        counts.get(1, 0),
        counts.get(0, 0),
    )


async def _measure_postgres(dsn: str, began: float) -> Size:
    """Tables with their indexes and TOAST (what the database holds on disk for
    them), and the dead rows autovacuum has yet to make reusable."""
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval(
            "SELECT SUM(pg_total_relation_size(c.oid))::bigint FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        dead = await conn.fetchval("SELECT SUM(n_dead_tup)::bigint FROM pg_stat_user_tables")
        counts = dict(
            await conn.fetch("SELECT active::int, COUNT(*) FROM participants GROUP BY active")
        )
    finally:
        await conn.close()
    return Size(
        time.monotonic() - began, int(total), int(total), int(dead or 0),
        counts.get(1, 0), counts.get(0, 0),
    )  # fmt: skip


_SAMPLE = re.compile(r'^rollcall_maintenance_(runs_total|running)\{task="(\w+)"\} (\S+)$', re.M)


def maintenance(metrics_port: int) -> dict[tuple[str, str], float]:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {(m[1], m[2]): float(m[3]) for m in _SAMPLE.finditer(text)}


async def watch_maintenance(
    metrics_port: int, began: float, busy: Busy, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, maintenance, metrics_port)
    then = time.monotonic() - began
    while not stop.is_set():
        await asyncio.sleep(POLL)  # sampling period of a poll, not an ordering
        now_values = await loop.run_in_executor(None, maintenance, metrics_port)
        now = time.monotonic() - began
        for task, spans in (("retention", busy.retention), ("compaction", busy.compaction)):
            ran = now_values.get(("runs_total", task), 0) > before.get(("runs_total", task), 0)
            running = now_values.get(("running", task), 0) or before.get(("running", task), 0)
            if ran or running:
                spans.append((then, now))
        before, then = now_values, now
