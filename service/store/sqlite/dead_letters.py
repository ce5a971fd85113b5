"""Dead letters: status callbacks given up on, kept in the store's database.

Rule 1: this is the SQLite adapter of the DeadLetterStore port
        (service.core.ports.dead_letters) over the callback_dead_letters table
        (PostgreSQL: service.store.postgres.dead_letters).
Rule 2: a dead letter is written in its own durable transaction when a callback is
        given up on, and holds everything needed to send it again exactly as it
        would have been sent (URL, method, form, idempotency token).
Rule 3: every read is scoped to one account, so an account never sees another's.
Rule 4: ids grow in give-up order, which within a conference is event order.
Rule 5: a dead letter goes when it is redelivered, when event retention has removed
        the event it reports (prune, run after each compaction), or when its own
        retention window has passed (expire).
"""

from __future__ import annotations

from typing import Any

import orjson

from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.store.dead_letter_rows import COLUMNS, letter_from_row
from service.store.sqlite import retention as sqlite_retention
from service.store.sqlite.store import SqliteStore

__all__ = ["DeadLetter", "DeadLetterStore", "DeadLetters"]


class DeadLetters:
    """The dead-letter table of one SqliteStore."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def add(self, letter: DeadLetter) -> None:
        async with self.store.write() as tx:
            await tx.conn.execute(
                "INSERT INTO callback_dead_letters (account_sid, conference_sid, revision, kind,"
                " call_sid, callback_event, method, url, params, token, attempts, last_outcome,"
                " given_up_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    letter.account_sid,
                    letter.conference_sid,
                    letter.revision,
                    letter.kind,
                    letter.call_sid,
                    letter.callback_event,
                    letter.method,
                    letter.url,
                    orjson.dumps(letter.params).decode(),
                    letter.token,
                    letter.attempts,
                    letter.last_outcome,
                    letter.given_up_at,
                ),
            )

    async def list(
        self, account_sid: str, *, conference_sid: str = "", after_id: int = 0, limit: int = 1000
    ) -> list[DeadLetter]:
        """The account's dead letters with id > after_id, oldest first."""
        sql = f"SELECT {COLUMNS} FROM callback_dead_letters WHERE account_sid = ? AND id > ?"  # noqa: S608
        args: list[Any] = [account_sid, after_id]
        if conference_sid:
            sql += " AND conference_sid = ?"
            args.append(conference_sid)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        async with self.store._read() as r:
            rows = await r._all(sql, *args)
        return [letter_from_row(row) for row in rows]

    async def delivered(self, letter_id: int) -> None:
        async with self.store.write() as tx:
            await tx.conn.execute("DELETE FROM callback_dead_letters WHERE id = ?", (letter_id,))

    async def failed_again(self, letter_id: int, outcome: str) -> None:
        async with self.store.write() as tx:
            await tx.conn.execute(
                "UPDATE callback_dead_letters SET attempts = attempts + 1, last_outcome = ?"
                " WHERE id = ?",
                (outcome, letter_id),
            )

    async def expire(self, given_up_before: float, limit: int) -> int:
        return await sqlite_retention.expire_dead_letters(self.store, given_up_before, limit)

    async def prune(self) -> int:
        """Remove dead letters whose event retention has removed; return how many."""
        async with self.store.write() as tx:
            cursor = await tx.conn.execute(
                "DELETE FROM callback_dead_letters WHERE NOT EXISTS (SELECT 1 FROM events e"
                " WHERE e.conference_sid = callback_dead_letters.conference_sid"
                " AND e.revision = callback_dead_letters.revision)"
            )
            removed = max(cursor.rowcount, 0)
            await cursor.close()
        return removed
