"""SQLite connections: how they are opened and how their statements run.

Rule 1: a connection is opened with WAL, synchronous=FULL, foreign keys,
        secure_delete and the busy timeout.
Rule 2: a statement run on a connection's own thread completes even if its caller
        is cancelled; one that opens, undoes or closes a transaction always runs to
        its end (a cancelled caller waits for it, then is cancelled).
Rule 3: the event loop never waits for another process's write lock: BEGIN
        IMMEDIATE takes the write lock inline only when it is free at once,
        otherwise on the connection's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable
from typing import TypeVar

import aiosqlite

T = TypeVar("T")


async def finish(work: Awaitable[T]) -> T:
    """Await `work` to its end even if the caller is cancelled meanwhile; the
    cancellation is raised once the work is done."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done() and task.cancelled():
                raise
            cancelled = True
    if cancelled:
        task.exception()  # retrieved: the cancellation wins
        raise asyncio.CancelledError
    return task.result()


async def statement(conn: aiosqlite.Connection, sql: str) -> None:
    """Execute one statement. If the caller is cancelled meanwhile, wait until
    the connection's thread has run it (its queue is in order) before the
    cancellation goes on, so the caller's bookkeeping stays true."""
    try:
        await conn.execute(sql)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await finish(conn.execute("SELECT 1"))
        raise


_SQLITE_BUSY = 5
_BUSY_TIMEOUT_MS = 10_000


def begin_at_once(conn: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE inline if the write lock is free now (True); False if
    another process holds it, and the caller waits for it on the connection's
    thread (busy_timeout), never on the event loop. This process's writes all
    go through one connection, so the lock is free unless someone else (a
    sqlite3 shell, a backup) writes the file."""
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF != _SQLITE_BUSY:
            raise
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return True


async def connect(path: str) -> aiosqlite.Connection:
    # Used from the loop too (see sqlite_inline), never from two threads at once.
    conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("PRAGMA foreign_keys=ON")
    # What a change overwrites or deletes is zeroed, not left in free space:
    # erased personal data leaves the file at the next checkpoint.
    await conn.execute("PRAGMA secure_delete=ON")
    await conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    return conn
