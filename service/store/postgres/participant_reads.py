"""Participant reads (Fetch's) in batches, on one connection kept for them.

Rule 1: reads go out in batches (service.store.postgres.batches), one batch at a
        time: a read shares its round trip with the reads that queued behind the
        batch in flight, and a lone read waits for no timer.
Rule 2: a batch of one is sent as that read's own statement, whose plan is the
        simplest; a larger one as one statement over arrays of what was asked.
Rule 3: batches go out on one pooled connection, kept between them, so a read pays
        no pool acquire and release; a connection a batch failed on for a
        connection-level reason (schema.unfit) is terminated, given back to the
        pool, and replaced by the next batch's, and one found closed while kept
        is replaced before a batch is sent on it.
Rule 4: a batch the database does not answer within `bound` seconds (the
        statement timeout, which the server enforces, plus a margin: a link
        that went silent) fails its reads UNAVAILABLE, and its connection is
        replaced, so one stuck connection never holds up the reads behind it.
Rule 5: `close` fails the reads not answered (UNAVAILABLE) and gives the kept
        connection back to the pool, before the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import asyncpg

from service.core.records import Participant
from service.store.postgres import schema as pg_schema
from service.store.postgres.batches import Batches
from service.store.postgres.tx import ParticipantShape, PgReads
from service.store.row_cache import RowCache
from service.store.rows import is_call_sid

# (account SID, conference SID or name, participant label or call SID)
Asked = tuple[str, str, str]


def _open(conn: asyncpg.Connection) -> bool:
    """Whether a kept connection is still open: asyncpg gives a pooled
    connection back to its pool by itself once the connection ends, and then
    answers any call on it with InterfaceError."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False


def _closed() -> BaseException:
    return pg_schema.unavailable("the store is not open")


class ParticipantReads:
    def __init__(
        self, pool: Callable[[], asyncpg.Pool | None], rows: RowCache, *, bound: float
    ) -> None:
        self._pool = pool
        self._rows = rows
        self._bound = bound
        self._conn: asyncpg.Connection | None = None
        self._batches: Batches[ParticipantShape, Asked, Participant | None] = Batches(
            self._send, flights=1, closed=_closed
        )

    async def read(
        self, account_sid: str, conference: str, by_sid: bool, key: str, *, include_ended: bool
    ) -> Participant | None:
        """Store.participant_in (Rule 1)."""
        shape = (by_sid, include_ended, is_call_sid(key))
        return await self._batches.read(shape, (account_sid, conference, key))

    async def _send(self, shape: ParticipantShape, asked: list[Asked]) -> list[Participant | None]:
        async with self._connection() as conn, asyncio.timeout(self._bound):  # Rule 4
            reads = PgReads(conn, self._rows)
            if len(asked) == 1:  # Rule 2
                return [await reads.participant_in(shape, *asked[0])]
            return await reads.participants_in(shape, asked)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """Rule 3."""
        pool = self._pool()
        if pool is None:
            raise _closed()
        with pg_schema.translated():
            conn = self._conn
            if conn is not None and not _open(conn):
                # Ended while kept (by the server, or the link): replaced
                # before any read is sent on it.
                self._conn = None
                await pool.release(conn)  # nothing to do when asyncpg did it
                conn = None
            if conn is None:
                conn = self._conn = await pool.acquire()
            try:
                yield conn
            except BaseException as exc:
                if pg_schema.unfit(exc):
                    self._conn = None
                    if _open(conn):
                        conn.terminate()
                    await pool.release(conn)
                raise

    async def close(self) -> None:
        """Rule 5."""
        await self._batches.close()
        conn, self._conn = self._conn, None
        pool = self._pool()
        if conn is not None and pool is not None:
            await pool.release(conn)
