"""SQLite: removing what retention says is past its time, and compacting events.

Rule 1: each function here is one write transaction of at most `limit` rows
        (the store's write(), so it queues with the changes and commits with
        them); the caller loops, and changes waiting for the writer get in
        between two batches.
Rule 2: every batch finds its rows by an index (0008_retention.sql), so it
        reads only what it removes.
Rule 3: the statements run on the connection's thread, not inline: a batch
        may take a few milliseconds, and the event loop keeps serving reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from service.store.sqlite.rows import SqliteReads, SqliteWriteTransaction


class SqliteStore(Protocol):
    """What these batches need of the store (service.store.sqlite.store)."""

    def write(self) -> AbstractAsyncContextManager[SqliteWriteTransaction]: ...

    def _read(self) -> AbstractAsyncContextManager[SqliteReads]: ...


# How a row's end is found by the partial indexes of 0008_retention.sql (the
# expressions must match the indexes' word for word).
PARTICIPANT_ENDED = (
    "COALESCE(json_extract(data, '$.ended_at'), json_extract(data, '$.date_updated'))"
)
CONFERENCE_ENDED = "json_extract(c.data, '$.date_updated')"


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


async def _delete(store: SqliteStore, sql: str, *args: Any) -> int:
    async with store.write() as tx:
        cursor = await tx.conn.execute(sql, args)
        deleted = max(cursor.rowcount, 0)
        await cursor.close()
    return deleted


async def expire_participants(store: SqliteStore, ended_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM participants WHERE seq IN (SELECT seq FROM participants"  # noqa: S608
        f" WHERE active = 0 AND {PARTICIPANT_ENDED} < ? LIMIT ?)",
        ended_before,
        limit,
    )


async def expire_conferences(store: SqliteStore, ended_before: float, limit: int) -> int:
    async with store.write() as tx:
        conn = tx.conn
        async with conn.execute(
            # Callbacks all done: a cursor at the conference's revision.
            "SELECT c.sid FROM conferences c"  # noqa: S608
            " LEFT JOIN webhook_cursors w ON w.conference_sid = c.sid"
            f" WHERE c.status = 'completed' AND {CONFERENCE_ENDED} < ?"
            " AND COALESCE(w.revision, 0) >= c.revision LIMIT ?",
            (ended_before, limit),
        ) as cur:
            sids = [row[0] for row in await cur.fetchall()]
        if not sids:
            return 0
        marks = _marks(sids)
        # What the conferences hold first, a batch at a time, then the rows
        # themselves once nothing refers to them.
        for table, key in (("events", "rowid"), ("participants", "seq")):
            cursor = await conn.execute(
                f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table}"  # noqa: S608
                f" WHERE conference_sid IN ({marks}) LIMIT ?)",
                (*sids, limit),
            )
            deleted = max(cursor.rowcount, 0)
            await cursor.close()
            if deleted:
                return deleted
        for table in (
            "webhook_call_sequences",
            "webhook_cursors",
            "callback_dead_letters",
            "number_index",
        ):
            await conn.execute(
                f"DELETE FROM {table} WHERE conference_sid IN ({marks})",  # noqa: S608
                sids,
            )
        await conn.execute(f"DELETE FROM conferences WHERE sid IN ({marks})", sids)  # noqa: S608
        return len(sids)


async def expire_requests(store: SqliteStore, recorded_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM requests WHERE (account_sid, request_id) IN (SELECT account_sid,"
        " request_id FROM requests WHERE recorded_at < ? LIMIT ?)",
        recorded_before,
        limit,
    )


async def expire_carrier_calls(store: SqliteStore, ended_before: float, limit: int) -> int:
    async with store.write() as tx:
        conn = tx.conn
        async with conn.execute(
            # Not written since the cutoff, and its participant ended (or gone).
            "SELECT cc.call_sid, cc.carrier_conference_sid FROM carrier_calls cc"
            " LEFT JOIN participants p ON p.call_sid = cc.call_sid"
            " WHERE cc.touched_at < ? AND (p.seq IS NULL OR p.active = 0) LIMIT ?",
            (ended_before, limit),
        ) as cur:
            calls = [(row[0], row[1]) for row in await cur.fetchall()]
        deleted = 0
        if calls:
            sids = [call for call, _ in calls]
            await conn.execute(
                f"DELETE FROM carrier_calls WHERE call_sid IN ({_marks(sids)})",  # noqa: S608
                sids,
            )
            scopes = [f"{conference}/{call}" for call, conference in calls]
            await conn.executemany(
                "DELETE FROM carrier_event_sequences WHERE scope = ?", [(s,) for s in scopes]
            )
            # A carrier conference's own sequence, once none of its calls is left.
            await conn.executemany(
                "DELETE FROM carrier_event_sequences WHERE scope = ? AND NOT EXISTS"
                " (SELECT 1 FROM carrier_calls WHERE carrier_conference_sid = ?)",
                [(conference, conference) for conference in {c for _, c in calls}],
            )
            deleted = len(calls)
        cursor = await conn.execute(
            "DELETE FROM placements WHERE call_key IN (SELECT call_key FROM placements"
            " WHERE placed_at < ? LIMIT ?)",
            (ended_before, max(limit - deleted, 0)),
        )
        deleted += max(cursor.rowcount, 0)
        await cursor.close()
    return deleted


async def expire_carrier_callbacks(store: SqliteStore, received_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM carrier_callbacks WHERE token IN (SELECT token FROM carrier_callbacks"
        " WHERE received_at < ? LIMIT ?)",
        received_before,
        limit,
    )


async def expire_dead_letters(store: SqliteStore, given_up_before: float, limit: int) -> int:
    return await _delete(
        store,
        "DELETE FROM callback_dead_letters WHERE id IN (SELECT id FROM callback_dead_letters"
        " WHERE given_up_at < ? LIMIT ?)",
        given_up_before,
        limit,
    )


async def compact(store: SqliteStore, older_than: float, keep: int, batch: int) -> int:
    """Delete a prefix of each conference's log (so what is left never has a
    gap, even if event times are not monotonic), never past the callback
    cursor (undelivered callbacks need their events), `batch` events per
    transaction (Rule 1)."""
    async with (
        store._read() as r,
        r.conn.execute(
            "SELECT e.conference_sid, MIN(MAX(e.revision), c.revision - ?,"
            " COALESCE(w.revision, c.revision)) FROM events e"
            " JOIN conferences c ON c.sid = e.conference_sid"
            " LEFT JOIN webhook_cursors w ON w.conference_sid = e.conference_sid"
            " WHERE e.time < ? GROUP BY e.conference_sid",
            (keep, older_than),
        ) as cur,
    ):
        cutoffs = [(sid, upto) for sid, upto in await cur.fetchall() if upto > 0]
    deleted = 0
    for sid, upto in cutoffs:
        while True:
            # The oldest first: a prefix at every step.
            done = await _delete(
                store,
                "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events"
                " WHERE conference_sid = ? AND revision <= ? ORDER BY revision LIMIT ?)",
                sid,
                upto,
                batch,
            )
            deleted += done
            if done < batch:
                break
    return deleted
