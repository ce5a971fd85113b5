"""The PostgreSQL store (asyncpg): several replicas on one database.

Rule 1: each change is one READ COMMITTED transaction that locks its
        conference row first (see tx), so revisions are per conference,
        strictly increasing and visible in commit order on every replica;
        the revision, never a global sequence, is the watch cursor.
Rule 2: other replicas learn of a commit through a NOTIFY sent after it
        commits, coalesced, never inside the write transaction (see notify).
Rule 3: work the store owns whole (settings, callback cursors, compaction,
        retention: see retention) is retried on serialization, deadlock and
        lock failures; an unreachable database is UNAVAILABLE.
Rule 4: pooled connections carry no session state (advisory locks there are
        transaction locks; session locks and LISTEN have connections of their
        own), so they return to the pool without asyncpg's reset query.
Rule 5: a connection a statement failed on for a connection-level reason, or
        whose caller was cancelled mid-statement, never returns to the pool:
        it is terminated (see schema.unfit).
Rule 6: participant reads (Fetch's) go out in batches, one batch at a time, on
        one pooled connection kept for them (see participant_reads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import orjson

from service import tracing
from service.core.events import Event
from service.core.ports.store import (
    ConferenceFilter,
    ConferencePage,
    Floor,
    Page,
    ParticipantFilter,
)
from service.core.records import Conference, Participant
from service.store import participant_pages
from service.store.postgres import conferences as pg_conferences
from service.store.postgres import retention as pg_retention
from service.store.postgres import schema as pg_schema
from service.store.postgres.audit import PgPrivacyReads
from service.store.postgres.cursors import PgWebhookCursors
from service.store.postgres.lease import SessionLease
from service.store.postgres.notify import Notifier
from service.store.postgres.participant_reads import ParticipantReads
from service.store.postgres.tx import PgReads, PgWriteTransaction
from service.store.row_cache import RowCache
from service.store.rows import participant_from_row

log = logging.getLogger("rollcall.store")
# Each write transaction is a span (service.tracing).
_SPAN_ATTRIBUTES = {"db.system": "postgresql"}


async def _returned(conn: asyncpg.Connection) -> None:
    """A pooled connection's reset: asyncpg has already ended any transaction
    left open and dropped its listeners; there is no session state to clear
    (see the module's docstring), so no reset query is sent."""


T = TypeVar("T")
_ATTEMPTS = 5
_CLOSE_SECONDS = 5.0
# Beyond the statement timeout, how long a silent database is waited for.
_SILENT_SECONDS = 2.0


class PostgresStore(PgPrivacyReads, PgWebhookCursors):
    def __init__(self, options: pg_schema.PgOptions, replica_id: str = "") -> None:
        self.options = options
        # Owner of the calls this process dials (see claim_orphans).
        self.replica_id = replica_id or socket.gethostname()
        # Seconds after its last heartbeat that a replica counts as dead.
        self.heartbeat_timeout = 10.0
        self._pool: asyncpg.Pool | None = None
        self.notifier = Notifier(self._connection)
        # Decoded rows by their stored content, shared by plain reads: an
        # entry is never stale, whoever wrote the row (see row_cache).
        self._rows = RowCache(participant_from_row)
        # Rule 6.
        self._participant_reads = ParticipantReads(
            lambda: self._pool,
            self._rows,
            bound=options.statement_timeout_seconds + _SILENT_SECONDS,
        )

    async def open(self) -> None:
        kwargs = self.options.connect_kwargs()
        with pg_schema.translated():
            conn = await asyncpg.connect(self.options.dsn, **kwargs)
            try:
                applied = await pg_schema.migrate(conn)
            finally:
                await conn.close()
            if applied:
                log.info("applied migrations", extra={"migrations": applied})
            self._pool = await asyncpg.create_pool(
                self.options.dsn,
                min_size=1,
                max_size=self.options.pool_size,
                reset=_returned,
                **kwargs,
            )
        self.notifier.start()

    async def close(self) -> None:
        await self.notifier.stop()
        await self._participant_reads.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                # Graceful close waits for every connection to come back: bounded.
                await asyncio.wait_for(pool.close(), _CLOSE_SECONDS)
            except Exception:
                pool.terminate()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise pg_schema.unavailable("the store is not open")
        with pg_schema.translated():
            async with self._pool.acquire() as conn:
                try:
                    yield conn
                except BaseException as exc:
                    if pg_schema.unfit(exc):
                        # Gone from the pool at once (the pool opens a new
                        # one when needed); released, it would fail its next
                        # user, or hand it a transaction it did not begin.
                        conn.terminate()
                    raise

    async def probe(self) -> None:
        """The health probe: `SELECT 1` on a pooled connection (the caller
        bounds the wait; a connection it gives up on is terminated)."""
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Never called: one failed connection proves nothing about the
        database (it may be one of many); the probes decide."""

    async def _retrying(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Runs work in its own transaction, again after a retryable failure."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._connection() as conn, conn.transaction():
                    return await work(conn)
            except pg_schema.Conflict:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _read(self, work: Callable[[PgReads], Awaitable[T]]) -> T:
        async with self._connection() as conn:
            return await work(PgReads(conn, self._rows))

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[PgWriteTransaction]:
        with tracing.span("store write", attributes=_SPAN_ATTRIBUTES) as span:
            async with self._connection() as conn:
                tx = conn.transaction()
                await tx.start()
                changes = PgWriteTransaction(conn, self.replica_id)
                try:
                    yield changes
                    await changes.held.flush()  # the writes it held back (postgres.held)
                except BaseException as exc:
                    span.fail(type(exc).__name__)
                    if not pg_schema.unfit(exc):  # an unfit one is terminated instead
                        try:
                            await tx.rollback()
                        except Exception:
                            conn.terminate()  # a connection that cannot roll back is unfit
                    raise
                await tx.commit()
        self.notifier.changed(changes.changed)

    # -- reads ----------------------------------------------------------------

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        return await self._read(lambda r: r.conference(account_sid, conference_sid))

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        return await self._read(lambda r: r.active_conference_named(account_sid, friendly_name))

    async def participant(
        self, conference_sid: str, key: str, *, include_ended: bool
    ) -> Participant | None:
        return await self._read(lambda r: r.find_participant(conference_sid, key, include_ended))

    async def participant_in(
        self, account_sid: str, conference: str, by_sid: bool, key: str, *, include_ended: bool
    ) -> Participant | None:
        return await self._participant_reads.read(
            account_sid, conference, by_sid, key, include_ended=include_ended
        )

    async def list_participants(
        self,
        conference_sid: str,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Page:
        async with (
            self._connection() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            return await participant_pages.page(
                participant_pages.POSTGRES, conn.fetch, conn.fetchrow, self._rows.participant,
                conference_sid, flt, page_size, after=after, before=before,
            )  # fmt: skip

    async def list_conferences(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None = None,
        after: int | None = None,
    ) -> ConferencePage:
        async with self._connection() as conn:
            return await pg_conferences.list_conferences(
                conn, account_sid, flt, page_size=page_size, before=before, after=after
            )

    async def floor(self, account_sid: str, **how: Any) -> Floor:
        """See Store.floor (live, ords, since, participants, limit)."""
        async with self._connection() as conn:
            return await pg_conferences.floor(conn, account_sid, **how)

    async def events(self, conference_sid: str, after_revision: int, limit: int) -> list[Event]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT data FROM events WHERE conference_sid = $1 AND revision > $2"
                " ORDER BY revision LIMIT $3",
                conference_sid,
                after_revision,
                limit,
            )
        return [Event.from_dict(orjson.loads(row[0])) for row in rows]

    async def oldest_revision(self, conference_sid: str) -> int | None:
        async with self._connection() as conn:
            value = await conn.fetchval(
                "SELECT MIN(revision) FROM events WHERE conference_sid = $1", conference_sid
            )
        return None if value is None else int(value)

    async def revisions(self, conference_sids: list[str]) -> dict[str, int]:
        """Current revision of each of these conferences (for watchers' re-reads)."""
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT sid, revision FROM conferences WHERE sid = ANY($1::text[])",
                conference_sids,
            )
        return {row[0]: int(row[1]) for row in rows}

    async def compact(self, older_than: float, keep: int, *, batch: int = 500) -> int:
        """One replica's batch at a time (see pg_retention.compact)."""
        return await pg_retention.compact(self, older_than, keep, batch)

    # -- retention (statements in pg_retention) ----------------------------------

    async def expire_participants(self, ended_before: float, limit: int) -> int:
        return await pg_retention.expire_participants(self, ended_before, limit)

    async def expire_conferences(self, ended_before: float, limit: int) -> int:
        return await pg_retention.expire_conferences(self, ended_before, limit)

    async def expire_requests(self, recorded_before: float, limit: int) -> int:
        return await pg_retention.expire_requests(self, recorded_before, limit)

    async def expire_carrier_calls(self, ended_before: float, limit: int) -> int:
        return await pg_retention.expire_carrier_calls(self, ended_before, limit)

    async def expire_carrier_callbacks(self, received_before: float, limit: int) -> int:
        return await pg_retention.expire_carrier_callbacks(self, received_before, limit)

    async def active_participants_everywhere(self) -> list[Participant]:
        """For restart recovery: every active call of this replica's earlier run
        (the same replica id), of no replica, or of a replica whose heartbeat
        has expired; each is claimed by this replica in the same statement."""
        return await self._claim(include_own=True)

    async def claim_orphans(self) -> list[Participant]:
        """Active calls of replicas whose heartbeat expired, claimed by this one
        (a call another survivor claims first is not returned here)."""
        return await self._claim(include_own=False)

    async def _claim(self, *, include_own: bool) -> list[Participant]:
        own = "owner IS NULL OR owner = $1 OR " if include_own else "owner <> $1 AND "

        async def work(conn: asyncpg.Connection) -> list[Any]:
            # SKIP LOCKED: a call being changed right now is claimed next time,
            # and the claim never waits on (or deadlocks with) a write.
            return list(
                await conn.fetch(
                    "UPDATE participants SET owner = $1 WHERE seq IN (SELECT seq FROM"  # noqa: S608
                    f" participants p WHERE active AND ({own}NOT EXISTS (SELECT 1 FROM replicas r"
                    " WHERE r.id = p.owner AND r.heartbeat_at > now() - make_interval(secs => $2)"
                    ")) ORDER BY seq FOR UPDATE SKIP LOCKED) RETURNING seq, data",
                    self.replica_id,
                    self.heartbeat_timeout,
                )
            )

        rows = await self._retrying(work)
        return sorted((participant_from_row(row) for row in rows), key=lambda p: p.seq)

    async def heartbeat(self) -> None:
        """This replica is alive (database time, so replicas' clocks may differ)."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO replicas (id, heartbeat_at) VALUES ($1, now())"
                " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
                self.replica_id,
            )

        await self._retrying(work)

    async def retire(self) -> None:
        """This replica stops: survivors may claim its calls at once."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute("DELETE FROM replicas WHERE id = $1", self.replica_id)

        await self._retrying(work)

    def lease(self, key: int) -> SessionLease:
        """The replicas' lease named `key` (a session advisory lock)."""
        return SessionLease(self.options.dsn, self.options.connect_kwargs(), key)

    async def get_meta(self, key: str) -> str | None:
        async with self._connection() as conn:
            value = await conn.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                key,
                value,
            )

        await self._retrying(work)

    async def set_meta_once(self, key: str, value: str) -> str:
        async def work(conn: asyncpg.Connection) -> str:
            # Concurrent inserts of one key wait on each other's row: the
            # first committed value stays and every caller reads it back.
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value = ''",
                key,
                value,
            )
            return str(await conn.fetchval("SELECT value FROM meta WHERE key = $1", key))

        return await self._retrying(work)
