"""PostgreSQL: removing what retention says is past its time, and compacting events.

Rule 1: each function here is one transaction of at most `limit` rows (the
        caller loops), retried on serialization and lock failures like every
        piece of work the store owns whole.
Rule 2: a batch never waits on a change: rows (or conferences) a change holds
        are skipped (FOR UPDATE SKIP LOCKED) and taken by a later batch.
Rule 3: every batch finds its rows by an index (0007_retention.sql).
Rule 4: a batch commits without waiting for its WAL flush (synchronous_commit
        off, for that transaction only): a removal lost in a crash is made
        again by the next pass, and the changes' own flushes never queue
        behind the pass's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import asyncpg

T = TypeVar("T")


class PostgresStore(Protocol):
    """What these batches need of the store (service.store.postgres.store)."""

    async def _retrying(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T: ...

    def _connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]: ...


# How a row's end is found by the partial indexes of 0007_retention.sql (the
# expressions must match the indexes' word for word).
PARTICIPANT_ENDED = (
    "(COALESCE(data::jsonb ->> 'ended_at', data::jsonb ->> 'date_updated')::double precision)"
)
CONFERENCE_ENDED = "((data::jsonb ->> 'date_updated')::double precision)"
# pg_try_advisory_xact_lock key: one compaction batch at a time across replicas.
COMPACTION_LOCK = 0x726F6C6C636F6D70


def _count(status: str) -> int:
    return int(status.split()[-1])


async def _unflushed(conn: asyncpg.Connection) -> None:
    """Rule 4, for the transaction `conn` is in."""
    await conn.execute("SET LOCAL synchronous_commit TO off")


async def _delete(store: PostgresStore, sql: str, *args: Any) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        await _unflushed(conn)
        return _count(await conn.execute(sql, *args))

    return await store._retrying(work)


async def expire_participants(store: PostgresStore, ended_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM participants WHERE seq IN (SELECT seq FROM participants"  # noqa: S608
        f" WHERE NOT active AND {PARTICIPANT_ENDED} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        ended_before,
        limit,
    )


async def expire_conferences(store: PostgresStore, ended_before: float, limit: int) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        await _unflushed(conn)
        sids = [
            row[0]
            for row in await conn.fetch(
                # Callbacks all done: a cursor at the conference's revision.
                "SELECT c.sid FROM conferences c"  # noqa: S608
                " LEFT JOIN webhook_cursors w ON w.conference_sid = c.sid"
                f" WHERE c.status = 'completed' AND {CONFERENCE_ENDED.replace('data', 'c.data')}"
                " < $1 AND COALESCE(w.revision, 0) >= c.revision LIMIT $2"
                " FOR UPDATE OF c SKIP LOCKED",
                ended_before,
                limit,
            )
        ]
        if not sids:
            return 0
        # What the conferences hold first, a batch at a time, then the rows
        # themselves once nothing refers to them.
        deleted = _count(
            await conn.execute(
                "DELETE FROM events WHERE (conference_sid, revision) IN (SELECT conference_sid,"
                " revision FROM events WHERE conference_sid = ANY($1::text[]) LIMIT $2)",
                sids,
                limit,
            )
        )
        if deleted:
            return deleted
        deleted = _count(
            await conn.execute(
                "DELETE FROM participants WHERE seq IN (SELECT seq FROM participants"
                " WHERE conference_sid = ANY($1::text[]) LIMIT $2)",
                sids,
                limit,
            )
        )
        if deleted:
            return deleted
        for table in (
            "webhook_call_sequences",
            "webhook_cursors",
            "callback_dead_letters",
            "number_index",
        ):
            await conn.execute(
                f"DELETE FROM {table} WHERE conference_sid = ANY($1::text[])",  # noqa: S608
                sids,
            )
        return _count(
            await conn.execute("DELETE FROM conferences WHERE sid = ANY($1::text[])", sids)
        )

    return await store._retrying(work)


async def expire_requests(store: PostgresStore, recorded_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM requests WHERE (account_sid, request_id) IN (SELECT account_sid,"
        " request_id FROM requests WHERE recorded_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        recorded_before,
        limit,
    )


async def expire_carrier_calls(store: PostgresStore, ended_before: float, limit: int) -> int:
    async def work(conn: asyncpg.Connection) -> int:
        await _unflushed(conn)
        calls = await conn.fetch(
            # Not written since the cutoff, and its participant ended (or gone).
            "DELETE FROM carrier_calls WHERE call_sid IN (SELECT cc.call_sid FROM carrier_calls"
            " cc LEFT JOIN participants p ON p.call_sid = cc.call_sid WHERE cc.touched_at < $1"
            " AND (p.seq IS NULL OR NOT p.active) LIMIT $2 FOR UPDATE OF cc SKIP LOCKED)"
            " RETURNING call_sid, carrier_conference_sid",
            ended_before,
            limit,
        )
        if calls:
            await conn.execute(
                "DELETE FROM carrier_event_sequences WHERE scope = ANY($1::text[])",
                [f"{row[1]}/{row[0]}" for row in calls],
            )
            # A carrier conference's own sequence, once none of its calls is left.
            await conn.execute(
                "DELETE FROM carrier_event_sequences s WHERE s.scope = ANY($1::text[])"
                " AND NOT EXISTS (SELECT 1 FROM carrier_calls c"
                " WHERE c.carrier_conference_sid = s.scope)",
                sorted({row[1] for row in calls}),
            )
        placements = _count(
            await conn.execute(
                "DELETE FROM placements WHERE call_key IN (SELECT call_key FROM placements"
                " WHERE placed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
                ended_before,
                max(limit - len(calls), 0),
            )
        )
        return len(calls) + placements

    return await store._retrying(work)


async def expire_carrier_callbacks(store: PostgresStore, received_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM carrier_callbacks WHERE token IN (SELECT token FROM carrier_callbacks"
        " WHERE received_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        received_before,
        limit,
    )


async def expire_dead_letters(store: PostgresStore, given_up_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM callback_dead_letters WHERE id IN (SELECT id FROM callback_dead_letters"
        " WHERE given_up_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        given_up_before,
        limit,
    )


async def compact(store: PostgresStore, older_than: float, keep: int, batch: int) -> int:
    """A prefix of each conference's log, never past the callback cursor (see
    the SQLite store), `batch` events per transaction; a batch another replica
    is compacting meanwhile ends this pass (it does the rest)."""
    async with store._connection() as conn:
        cutoffs = await conn.fetch(
            "SELECT e.conference_sid, LEAST(MAX(e.revision), c.revision - $1,"
            " COALESCE(w.revision, c.revision)) FROM events e"
            " JOIN conferences c ON c.sid = e.conference_sid"
            " LEFT JOIN webhook_cursors w ON w.conference_sid = e.conference_sid"
            " WHERE e.time < $2 GROUP BY e.conference_sid, c.revision, w.revision",
            keep,
            older_than,
        )

    deleted = 0
    for sid, upto in cutoffs:
        if upto <= 0:
            continue

        async def one_batch(conn: asyncpg.Connection, sid: str = sid, upto: int = upto) -> int:
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", COMPACTION_LOCK):
                return -1
            await _unflushed(conn)
            return _count(
                await conn.execute(
                    "DELETE FROM events WHERE conference_sid = $1 AND revision IN (SELECT"
                    " revision FROM events WHERE conference_sid = $1 AND revision <= $2"
                    " ORDER BY revision LIMIT $3)",
                    sid,
                    upto,
                    batch,
                )
            )

        while True:
            done = await store._retrying(one_batch)
            if done < 0:
                return deleted  # another replica is compacting
            deleted += done
            if done < batch:
                break
    return deleted
