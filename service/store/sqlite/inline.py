"""Inline SQLite statements: the plain sqlite3 connection behind an aiosqlite one.

Rule 1: it reaches the sqlite3.Connection that an aiosqlite.Connection drives from
        its own thread, so that short statements (page-cache reads and row writes
        inside an open transaction) run on the event loop instead of costing a
        thread hop each.
Rule 2: a connection is used by one thread at a time: inline statements run only on
        a connection the caller holds alone (the writer under the store's write
        lock, a reader checked out of the pool).
Rule 3: they never run while one of the connection's own aiosqlite calls is still in
        flight: every aiosqlite call on it is awaited before the next statement.
Rule 4: for these reasons the connection is opened with check_same_thread=False.
"""

from __future__ import annotations

import sqlite3

import aiosqlite


def raw(conn: aiosqlite.Connection) -> sqlite3.Connection:
    """The sqlite3 connection `conn` drives (it must be open)."""
    inner: sqlite3.Connection = conn._conn
    return inner
