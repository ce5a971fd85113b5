"""SQLite: listing a conference's participants (Store.list_participants).

The rule it keeps: participant_pages' (its WHERE clause and windowing) in
SQLite's dialect, every query of a page inside one read transaction on the
caller's pooled connection, opened and closed inline so that no cancellation
point lies between them.
"""

from __future__ import annotations

from typing import Any

from service.core.ports.store import Page, ParticipantFilter
from service.store import participant_pages
from service.store.row_cache import RowCache
from service.store.rows import PARTICIPANT_COLUMNS
from service.store.sqlite_rows import SqliteReads


async def list_participants(
    r: SqliteReads,
    rows_cache: RowCache,
    conference_sid: str,
    flt: ParticipantFilter,
    page_size: int,
    *,
    after: int | None = None,
    before: int | None = None,
) -> Page:
    base, args = participant_pages.where(
        conference_sid, flt, placeholder=lambda _: "?", active="active = 1", flag=int
    )
    select = f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE {base}"  # noqa: S608

    async def after_rows(seq: int, limit: int) -> list[Any]:
        return await r._all(f"{select} AND seq > ? ORDER BY seq LIMIT ?", *args, seq, limit)

    async def before_rows(seq: int, limit: int) -> list[Any]:
        return await r._all(f"{select} AND seq < ? ORDER BY seq DESC LIMIT ?", *args, seq, limit)

    async def any_before(seq: int) -> bool:
        return await r._one(f"{select} AND seq < ? LIMIT 1", *args, seq) is not None

    async def revision() -> int | None:
        row = await r._one("SELECT revision FROM conferences WHERE sid = ?", conference_sid)
        return None if row is None else int(row[0])

    r.raw.execute("BEGIN")
    try:
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
    finally:
        r.raw.execute("COMMIT")
