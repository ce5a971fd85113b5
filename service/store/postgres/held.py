"""A write transaction's writes that answer nothing, sent to PostgreSQL together.

Rule 1: the writes a change ends with (its events and audit records, the rows
        it updates or upserts) are held back and sent as one statement of
        data-modifying CTEs, so a change's tail costs one round trip, not one each.
Rule 2: a held write goes out before the transaction's next statement of any
        kind (HeldWrites.connection flushes first) and before COMMIT, so
        every read in the transaction sees it and nothing held is lost.
Rule 3: the parts of one statement see one snapshot and run in no set
        order, so two held writes to the same row, or two inserts into one
        table (its generated ids follow the order rows were held in), never
        share one: holding the second sends the first.
Rule 4: a held write that fails (a constraint) fails the flush, inside the
        transaction, which rolls back as if it had failed on its own.
Rule 5: a held write may answer one value (its RETURNING's first column), handed
        to its `answer` when it is sent; a statement carries at most one such
        write, so holding a second sends the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import asyncpg

_PLACEHOLDER = re.compile(r"\$(\d+)")


def values(width: int, rows: int) -> str:
    """`($1, ..., $w), ($w+1, ...)`: the VALUES of `rows` rows of `width` columns."""
    return ", ".join(
        "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(rows)
    )


def _shifted(sql: str, offset: int) -> str:
    """`sql` with its placeholders numbered from offset + 1."""

    def shift(match: re.Match[str]) -> str:
        return f"${int(match[1]) + offset}"

    return _PLACEHOLDER.sub(shift, sql)


class HeldWrites:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._held: list[tuple[str, Sequence[Any]]] = []
        self._rows: set[Hashable] = set()
        # The held write that answers a value (Rule 5): its index, and who takes it.
        self._answers: tuple[int, Callable[[Any], None]] | None = None
        self.connection = _Flushing(conn, self)

    async def hold(
        self,
        sql: str,
        args: Sequence[Any],
        *rows: Hashable,
        answer: Callable[[Any], None] | None = None,
    ) -> None:
        """Hold one write (placeholders from $1); `rows`: what no other write in
        its statement may touch (Rule 3): the rows it writes, or its table;
        `answer` takes the value of its RETURNING once it is sent (Rule 5)."""
        if any(row in self._rows for row in rows) or (
            answer is not None and self._answers is not None
        ):
            await self.flush()
        if answer is not None:
            self._answers = (len(self._held), answer)
        self._held.append((sql, args))
        self._rows.update(rows)

    async def flush(self) -> None:
        """Send every held write, as one statement."""
        if not self._held:
            return
        held, self._held = self._held, []
        answers, self._answers = self._answers, None
        self._rows.clear()
        if len(held) == 1:
            sql, args = held[0]
            if answers is None:
                await self._conn.execute(sql, *args)
            else:
                answers[1](await self._conn.fetchval(sql, *args))
            return
        parts: list[str] = []
        every: list[Any] = []
        for index, (sql, args) in enumerate(held):
            parts.append(f"w{index} AS ({_shifted(sql, len(every))})")
            every.extend(args)
        statement = "WITH " + ", ".join(parts)
        if answers is None:
            await self._conn.execute(statement + " SELECT 1", *every)
        else:
            index, take = answers
            answered = f"{statement} SELECT * FROM w{index}"  # noqa: S608 (placeholders only)
            take(await self._conn.fetchval(answered, *every))


class _Flushing:
    """The transaction's connection as its statements see it: each statement
    sends what is held first (Rule 2)."""

    def __init__(self, conn: asyncpg.Connection, held: HeldWrites) -> None:
        self._conn = conn
        self._held = held

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        await self._held.flush()
        return await self._conn.execute(*args, **kwargs)

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        await self._held.flush()
        return await self._conn.executemany(*args, **kwargs)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        await self._held.flush()
        return await self._conn.fetch(*args, **kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        await self._held.flush()
        return await self._conn.fetchrow(*args, **kwargs)

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        await self._held.flush()
        return await self._conn.fetchval(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
