"""SQLite's write path: one change at a time on the writer connection, commits grouped.

Rule 1: one writer connection behind an asyncio lock, so write transactions
        (BEGIN IMMEDIATE ... COMMIT) never interleave and revisions commit in order.
Rule 2: group commit: changes that queue up while one is being written share its
        transaction, each in its own SAVEPOINT (a failing one rolls back alone);
        one COMMIT (one fsync) covers them all, and every caller waits for it.
Rule 3: the statements that open, undo or close a change run inline (see
        service.store.sqlite.inline), so a cancelled caller never leaves the
        writer inside a change; the COMMIT runs on the connection's thread, in a
        committer task of its own, never in a caller's.
Rule 4: the lookups remembered for readers are forgotten at every COMMIT, before
        any writer is answered (see lookup_cache); WAL checkpoints are told of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiosqlite

from service import tracing
from service.store.sqlite.checkpoints import Checkpoints
from service.store.sqlite.connections import begin_at_once, finish, statement
from service.store.sqlite.inline import raw
from service.store.sqlite.lookup_cache import LookupCache
from service.store.sqlite.rows import SqliteWriteTransaction

# Each write (a change, or a group commit's share of one) is a span (service.tracing).
_SPAN_ATTRIBUTES = {"db.system": "sqlite"}


class SqliteWrites:
    """The writer connection and its transactions, the base of SqliteStore."""

    def __init__(
        self, checkpoints: Checkpoints, remembered: Sequence[LookupCache[Any, Any]]
    ) -> None:
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # Group commit: the open transaction's outcome, whether a change is
        # open in it, and the task that will COMMIT it.
        self._batch: asyncio.Future[None] | None = None
        self._in_change = False
        self._committer: asyncio.Task[None] | None = None
        self.checkpoints = checkpoints
        # Forgotten at every COMMIT (Rule 4).
        self._remembered = tuple(remembered)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteWriteTransaction]:
        """One change, committed durably before the caller continues.

        Group commit: changes that queue up while one is being written share
        its SQLite transaction, each inside its own SAVEPOINT (a failing one
        rolls back alone), and a committer task that queued behind them
        COMMITs for all of them: one fsync per batch instead of one per
        change. Every caller still waits for the COMMIT that covers its
        change before it returns, so nothing is acknowledged before it is
        durable, and revisions still commit in the order they were written.

        Cancellation: a caller cancelled while waiting in line leaves no
        trace; once it holds the writer, every statement that opens, undoes
        or closes its change runs to completion (the cancellation is raised
        after), so the writer connection is never left inside a change or a
        transaction nobody will close. The COMMIT never runs in a caller's
        task, so a cancelled caller cannot fail the batch of others.
        """
        assert self._writer is not None, "store is not open"
        conn = self._writer
        with tracing.span("store write", attributes=_SPAN_ATTRIBUTES) as span:
            await self._write_lock.acquire()  # cancelled here: nothing started
            batch: asyncio.Future[None] | None = None
            try:
                await self._open_change(conn)
                yield SqliteWriteTransaction(conn)
                await self._release_change(conn)
                batch = self._batch
            except BaseException as exc:
                span.fail(type(exc).__name__)
                if self._in_change:
                    await finish(self._undo_change(conn))
                raise
            finally:
                self._after_change(conn)
            assert batch is not None
            await asyncio.shield(batch)

    async def _open_change(self, conn: aiosqlite.Connection) -> None:
        # Each flag is set before its statement is queued: a queued statement
        # runs even if the caller is cancelled while it waits for it.
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_future()
            try:
                if not begin_at_once(raw(conn)):
                    await statement(conn, "BEGIN IMMEDIATE")
            except BaseException:
                if not conn.in_transaction:
                    self._batch = None
                raise
        self._in_change = True
        try:
            raw(conn).execute("SAVEPOINT change")
        except Exception:
            self._in_change = False
            raise

    async def _release_change(self, conn: aiosqlite.Connection) -> None:
        raw(conn).execute("RELEASE change")  # inline: no cancellation point
        self._in_change = False

    async def _undo_change(self, conn: aiosqlite.Connection) -> None:
        try:
            raw(conn).execute("ROLLBACK TO change")
            raw(conn).execute("RELEASE change")
        except Exception as exc:
            # The change could not be undone alone: the whole batch goes.
            self._fail_batch(exc)
            with contextlib.suppress(Exception):
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
        finally:
            self._in_change = False

    def _fail_batch(self, exc: BaseException) -> None:
        batch, self._batch = self._batch, None
        if batch is not None and not batch.done():
            error = exc if isinstance(exc, Exception) else RuntimeError(str(exc))
            batch.set_exception(error)
            batch.exception()  # retrieved: each waiter re-raises it

    def _after_change(self, conn: aiosqlite.Connection) -> None:
        """Hand the writer on; make sure an open batch has its committer."""
        if self._batch is not None and not conn.in_transaction:
            # SQLite rolled the transaction back by itself (e.g. an I/O error).
            self._fail_batch(RuntimeError("the write transaction was rolled back"))
        if self._batch is not None and self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit_batch(conn))
        self._write_lock.release()

    async def _commit_batch(self, conn: aiosqlite.Connection) -> None:
        """Queue behind the changes already waiting (they join the batch), then COMMIT."""
        await self._write_lock.acquire()
        try:
            self._committer = None
            batch, self._batch = self._batch, None
            if batch is None:
                return
            try:
                try:
                    await conn.execute("COMMIT")
                finally:
                    # Before any writer is answered.
                    for cache in self._remembered:
                        cache.forget_all()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                self._batch = batch
                self._fail_batch(exc)
            else:
                batch.set_result(None)
                self.checkpoints.committed()
        finally:
            self._write_lock.release()
