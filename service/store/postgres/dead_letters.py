"""Dead letters on PostgreSQL: the DeadLetterStore port over callback_dead_letters.

Rule 1: it keeps the port's rules (service.core.ports.dead_letters): each change is
        its own committed transaction.
Rule 2: every read is scoped to one account.
Rule 3: ids grow in give-up order (an identity column).
Rule 4: prune removes the dead letters whose event retention has removed, and
        expire those past their own window.
Rule 5: several replicas share the table; prune and expire are idempotent, so they
        may run on any of them.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from service.core.ports.dead_letters import DeadLetter
from service.store.dead_letter_rows import COLUMNS, letter_from_row
from service.store.postgres import retention as pg_retention
from service.store.postgres.store import PostgresStore


class PgDeadLetters:
    """The dead-letter table of one PostgresStore's database."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def add(self, letter: DeadLetter) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO callback_dead_letters (account_sid, conference_sid, revision, kind,"
                " call_sid, callback_event, method, url, params, token, attempts, last_outcome,"
                " given_up_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
            )

        await self.store._retrying(work)

    async def list(
        self, account_sid: str, *, conference_sid: str = "", after_id: int = 0, limit: int = 1000
    ) -> list[DeadLetter]:
        sql = f"SELECT {COLUMNS} FROM callback_dead_letters WHERE account_sid = $1 AND id > $2"  # noqa: S608
        args: list[Any] = [account_sid, after_id]
        if conference_sid:
            args.append(conference_sid)
            sql += f" AND conference_sid = ${len(args)}"
        args.append(limit)
        sql += f" ORDER BY id LIMIT ${len(args)}"
        async with self.store._connection() as conn:
            rows = await conn.fetch(sql, *args)
        return [letter_from_row(row) for row in rows]

    async def delivered(self, letter_id: int) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute("DELETE FROM callback_dead_letters WHERE id = $1", letter_id)

        await self.store._retrying(work)

    async def failed_again(self, letter_id: int, outcome: str) -> None:
        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "UPDATE callback_dead_letters SET attempts = attempts + 1, last_outcome = $1"
                " WHERE id = $2",
                outcome,
                letter_id,
            )

        await self.store._retrying(work)

    async def expire(self, given_up_before: float, limit: int) -> int:
        return await pg_retention.expire_dead_letters(self.store, given_up_before, limit)

    async def prune(self) -> int:
        async def work(conn: asyncpg.Connection) -> int:
            status = await conn.execute(
                "DELETE FROM callback_dead_letters d WHERE NOT EXISTS (SELECT 1 FROM events e"
                " WHERE e.conference_sid = d.conference_sid AND e.revision = d.revision)"
            )
            return int(status.split()[-1])

        return await self.store._retrying(work)
