"""A lease held as a PostgreSQL session advisory lock on a dedicated connection.

Rule 1: at most one replica holds the lease at a time.
Rule 2: a replica that dies (its connection drops) loses it at once, so another can
        take it at its next attempt.
Rule 3: a holder that cannot prove its connection alive (a failed probe) gives the
        lease up before anyone else could have it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg


class SessionLease:
    def __init__(self, dsn: str, connect_kwargs: dict[str, Any], key: int) -> None:
        self._dsn = dsn
        self._kwargs = connect_kwargs
        self._key = key
        self._conn: asyncpg.Connection | None = None
        self.held = False

    async def check(self) -> bool:
        """Takes the lease if free, or confirms it is still held; True if held."""
        try:
            if self._conn is None or self._conn.is_closed():
                await self._drop()
                self._conn = await asyncpg.connect(self._dsn, **self._kwargs)
            if self.held:
                await self._conn.execute("SELECT 1")
            else:
                self.held = bool(
                    await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
                )
        except Exception:
            await self._drop()
        return self.held

    async def _drop(self) -> None:
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def release(self) -> None:
        """A clean stop: unlock before closing, so the next replica (or the
        next start) can take the lease at once rather than after the
        database notices the dropped connection."""
        conn = self._conn
        if conn is not None and self.held and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.execute("SELECT pg_advisory_unlock_all()"), 2.0)
                await asyncio.wait_for(conn.close(), 2.0)
        await self._drop()
