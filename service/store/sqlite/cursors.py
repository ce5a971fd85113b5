"""SQLite rows of status callback delivery: each conference's cursor, each call's SequenceNumbers.

Rule 1: a saved cursor never moves backwards (a save racing a cancelled one cannot
        undo it).
Rule 2: a conference that is finished drops its call counters.
Rule 3: each function runs in the read snapshot or the write transaction its caller
        opened.
"""

from __future__ import annotations

import aiosqlite

from service.core.ports.store import WebhookCursor
from service.store.sqlite.rows import SqliteReads


async def webhook_cursor(r: SqliteReads, conference_sid: str) -> WebhookCursor | None:
    row = await r._one(
        "SELECT account_sid, revision, step, sequence FROM webhook_cursors"
        " WHERE conference_sid = ?",
        conference_sid,
    )
    if row is None:
        return None
    return WebhookCursor(conference_sid, row[0], int(row[1]), int(row[2]), int(row[3]))


async def call_sequences(r: SqliteReads, conference_sid: str) -> dict[str, int]:
    async with r.conn.execute(
        "SELECT call_sid, sequence FROM webhook_call_sequences WHERE conference_sid = ?",
        (conference_sid,),
    ) as cur:
        return {row[0]: int(row[1]) for row in await cur.fetchall()}


async def save_webhook_cursor(
    conn: aiosqlite.Connection, cursor: WebhookCursor, calls: dict[str, int], *, finished: bool
) -> None:
    await conn.execute(
        "INSERT INTO webhook_cursors (conference_sid, account_sid, revision, step,"
        " sequence) VALUES (?, ?, ?, ?, ?) ON CONFLICT (conference_sid) DO UPDATE SET"
        " revision = excluded.revision, step = excluded.step,"
        " sequence = excluded.sequence"
        " WHERE (excluded.revision, excluded.step)"
        " >= (webhook_cursors.revision, webhook_cursors.step)",
        (
            cursor.conference_sid,
            cursor.account_sid,
            cursor.revision,
            cursor.step,
            cursor.sequence,
        ),
    )
    if finished:
        await conn.execute(
            "DELETE FROM webhook_call_sequences WHERE conference_sid = ?",
            (cursor.conference_sid,),
        )
    else:
        await conn.executemany(
            "INSERT INTO webhook_call_sequences (call_sid, conference_sid, sequence)"
            " VALUES (?, ?, ?) ON CONFLICT (call_sid) DO UPDATE SET"
            " sequence = excluded.sequence",
            [(sid, cursor.conference_sid, seq) for sid, seq in calls.items()],
        )


async def webhook_backlog(r: SqliteReads) -> list[tuple[str, str]]:
    async with r.conn.execute(
        "SELECT c.account_sid, c.sid FROM conferences c"
        " LEFT JOIN webhook_cursors w ON w.conference_sid = c.sid"
        " WHERE c.revision > COALESCE(w.revision, 0) ORDER BY c.rowid"
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]
