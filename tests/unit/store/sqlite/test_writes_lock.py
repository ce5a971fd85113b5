"""The SQLite store takes the write lock inline when it is free, and waits for
it on its connection's thread when another process holds it: the event loop
is never blocked by someone else's write."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from service.store.sqlite.store import SqliteStore


async def test_a_write_lock_held_elsewhere_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3")
    store = SqliteStore(path)
    await store.open()
    try:
        async with store.write() as tx:  # free: taken inline
            await tx.conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock

        async def write() -> None:
            async with store.write() as tx:
                await tx.conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")

        waiting = asyncio.create_task(write())
        # A task started after it runs while the store waits for the lock: had
        # the write blocked the loop, it would have ended (refused) first.
        ran = asyncio.Event()
        asyncio.get_running_loop().call_soon(ran.set)
        await ran.wait()
        assert not waiting.done()
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(waiting, timeout=10)
        assert await store.get_meta("b") == "2"
    finally:
        await store.close()
