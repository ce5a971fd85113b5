"""WAL checkpoints off the commit path: pages go back to the database file beside the writer.

Rule 1: the writer never checkpoints (`wal_autocheckpoint=0` on its connection):
        SQLite's automatic checkpoint runs inside the COMMIT that crosses its
        threshold, so that change's answer, and every watcher's delivery of
        it, waited for the copy and its fsync (measured: 2.5 to 26 ms once
        every few seconds under a steady 20 changes/s, the largest delay of
        the stream).
Rule 2: after every `every` commits, one PASSIVE checkpoint runs on a connection
        of its own, on that connection's thread; writers go on meanwhile (WAL
        lets a writer append while committed frames are copied back), and at
        most one checkpoint runs at a time.
Rule 3: durability is unchanged: a change is answered once its COMMIT is in
        the WAL (synchronous=FULL); a checkpoint only moves committed pages.
Rule 4: closing waits for a running checkpoint, then runs a last one.
"""

from __future__ import annotations

import asyncio
import logging

import aiosqlite

from service.store.sqlite.connections import connect

log = logging.getLogger("rollcall.store")

# Commits between checkpoints: a change writes a few pages (its row, the
# conference row, its event, their indexes), so about SQLite's own threshold
# of 1,000 WAL frames.
EVERY = 100


async def writer_off(conn: aiosqlite.Connection) -> None:
    """The writer's connection never checkpoints by itself (Rule 1)."""
    await conn.execute("PRAGMA wal_autocheckpoint=0")


class Checkpoints:
    def __init__(self, path: str, every: int = EVERY) -> None:
        if every < 1:
            raise ValueError("a checkpoint comes after one commit at least")
        self.path = path
        self.every = every
        self.done = 0
        self._conn: aiosqlite.Connection | None = None
        self._since = 0
        self._running: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._conn = await connect(self.path)

    def committed(self) -> None:
        """One more commit: start a checkpoint when it is due and none runs (Rule 2)."""
        self._since += 1
        if self._since < self.every or self._conn is None:
            return
        if self._running is not None and not self._running.done():
            return
        self._since = 0
        self._running = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        if self._conn is not None:
            await self._checkpoint_on(self._conn)

    async def _checkpoint_on(self, conn: aiosqlite.Connection) -> None:
        try:
            await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            # The next one tries again; nothing committed depends on it.
            log.warning("WAL checkpoint failed", exc_info=True)
        else:
            self.done += 1

    async def close(self) -> None:
        """Rule 4."""
        if self._running is not None:
            await self._running
            self._running = None
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await self._checkpoint_on(conn)
        finally:
            await conn.close()
