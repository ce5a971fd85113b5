"""PostgreSQL: listing a conference's participants (Store.list_participants).

The rule it keeps: participant_pages' (its WHERE clause and windowing) in
PostgreSQL's dialect, every query of a page inside the one read-only
REPEATABLE READ transaction the caller opened.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from service.core.ports.store import Page, ParticipantFilter
from service.store import participant_pages
from service.store.row_cache import RowCache
from service.store.rows import PARTICIPANT_COLUMNS


async def list_participants(
    conn: asyncpg.Connection,
    rows_cache: RowCache,
    conference_sid: str,
    flt: ParticipantFilter,
    page_size: int,
    *,
    after: int | None = None,
    before: int | None = None,
) -> Page:
    base, args = participant_pages.where(
        conference_sid, flt, placeholder=lambda n: f"${n}", active="active", flag=bool
    )
    select = f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE {base}"  # noqa: S608
    n = len(args)

    async def after_rows(seq: int, limit: int) -> list[Any]:
        sql = f"{select} AND seq > ${n + 1} ORDER BY seq LIMIT ${n + 2}"
        return list(await conn.fetch(sql, *args, seq, limit))

    async def before_rows(seq: int, limit: int) -> list[Any]:
        sql = f"{select} AND seq < ${n + 1} ORDER BY seq DESC LIMIT ${n + 2}"
        return list(await conn.fetch(sql, *args, seq, limit))

    async def any_before(seq: int) -> bool:
        found = await conn.fetchval(f"{select} AND seq < ${n + 1} LIMIT 1", *args, seq)
        return found is not None

    async def revision() -> int | None:
        value = await conn.fetchval(
            "SELECT revision FROM conferences WHERE sid = $1", conference_sid
        )
        return None if value is None else int(value)

    return await participant_pages.page(
        after_rows=after_rows,
        before_rows=before_rows,
        any_before=any_before,
        revision=revision,
        decode=rows_cache.participant,
        page_size=page_size,
        after=after,
        before=before,
    )
