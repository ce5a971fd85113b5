"""PostgreSQL: status callback delivery's cursors (webhook_cursors, webhook_call_sequences).

Rule 1: a conference's cursor only moves forward: a save behind the stored
        (revision, step) changes nothing, so a slow replica cannot rewind it.
Rule 2: a cursor and its calls' SequenceNumbers are saved in one transaction,
        retried like all work the store owns whole; a finished conference's
        call sequences are dropped.
Rule 3: the backlog is every conference whose revision is past its cursor,
        in the order conferences were created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from service.core.ports.store import WebhookCursor


class PgWebhookCursors:
    """Mixed into PostgresStore (needs its `_connection` and `_retrying`)."""

    _connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
    _retrying: Callable[[Callable[[asyncpg.Connection], Awaitable[Any]]], Awaitable[Any]]

    async def webhook_cursor(self, conference_sid: str) -> WebhookCursor | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                "SELECT account_sid, revision, step, sequence FROM webhook_cursors"
                " WHERE conference_sid = $1",
                conference_sid,
            )
        if row is None:
            return None
        return WebhookCursor(conference_sid, row[0], int(row[1]), int(row[2]), int(row[3]))

    async def call_sequences(self, conference_sid: str) -> dict[str, int]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT call_sid, sequence FROM webhook_call_sequences WHERE conference_sid = $1",
                conference_sid,
            )
        return {row[0]: int(row[1]) for row in rows}

    async def save_webhook_cursor(
        self, cursor: WebhookCursor, calls: dict[str, int], *, finished: bool = False
    ) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO webhook_cursors (conference_sid, account_sid, revision, step,"
                " sequence) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conference_sid) DO UPDATE"
                " SET revision = excluded.revision, step = excluded.step,"
                " sequence = excluded.sequence"
                " WHERE (excluded.revision, excluded.step)"
                " >= (webhook_cursors.revision, webhook_cursors.step)",
                cursor.conference_sid,
                cursor.account_sid,
                cursor.revision,
                cursor.step,
                cursor.sequence,
            )
            if finished:
                await conn.execute(
                    "DELETE FROM webhook_call_sequences WHERE conference_sid = $1",
                    cursor.conference_sid,
                )
            elif calls:
                await conn.executemany(
                    "INSERT INTO webhook_call_sequences (call_sid, conference_sid, sequence)"
                    " VALUES ($1, $2, $3) ON CONFLICT (call_sid) DO UPDATE"
                    " SET sequence = excluded.sequence",
                    [(sid, cursor.conference_sid, seq) for sid, seq in sorted(calls.items())],
                )

        await self._retrying(work)

    async def webhook_backlog(self) -> list[tuple[str, str]]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT c.account_sid, c.sid FROM conferences c"
                " LEFT JOIN webhook_cursors w ON w.conference_sid = c.sid"
                " WHERE c.revision > COALESCE(w.revision, 0) ORDER BY c.ord"
            )
        return [(row[0], row[1]) for row in rows]
