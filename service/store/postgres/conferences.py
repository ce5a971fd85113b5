"""PostgreSQL: listing an account's conferences (Store.list_conferences, Store.floor).

Rule 1: as in the SQLite adapter, newest first by creation order (the conferences
        table's identity column `ord`), filtered only by fixed clauses with every
        value a parameter.
Rule 2: cursors are `ord` values, so a page never repeats or skips a conference when
        others are created meanwhile, on any replica.
Rule 3: each row is the conference as last committed, with its revision; the page
        is read in one snapshot.
Rule 4: dates live in the row's JSON.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import asyncpg
import orjson

from service.core.ports.store import ConferenceFilter, ConferencePage, Floor, FloorConference
from service.core.records import Conference, Participant
from service.store.rows import participant_from_row

_NEWEST = 2**63 - 1
_DATE_CLAUSES = (
    ("(data::jsonb ->> 'date_created')::double precision >=", "created_from"),
    ("(data::jsonb ->> 'date_created')::double precision <", "created_before"),
    ("(data::jsonb ->> 'date_updated')::double precision >=", "updated_from"),
    ("(data::jsonb ->> 'date_updated')::double precision <", "updated_before"),
)


async def list_conferences(
    conn: asyncpg.Connection,
    account_sid: str,
    flt: ConferenceFilter,
    *,
    page_size: int,
    before: int | None,
    after: int | None,
) -> ConferencePage:
    args: list[Any] = [account_sid]
    where = ["account_sid = $1"]

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if flt.friendly_name is not None:
        where.append(f"friendly_name = {param(flt.friendly_name)}")
    if flt.status is not None:
        where.append(f"status = {param(flt.status.value)}")
    for clause, field in _DATE_CLAUSES:
        value = getattr(flt, field)
        if value is not None:
            where.append(f"{clause} {param(float(value))}")
    # Only fixed clauses are joined in; every value is a parameter.
    select = "SELECT ord, data FROM conferences WHERE " + " AND ".join(where)  # noqa: S608
    n = len(args)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if after is not None:
            rows = list(
                await conn.fetch(
                    f"{select} AND ord > ${n + 1} ORDER BY ord LIMIT ${n + 2}",
                    *args,
                    after,
                    page_size + 1,
                )
            )
            more_after = len(rows) > page_size
            rows = list(reversed(rows[:page_size]))
            more_before = True
        else:
            rows = list(
                await conn.fetch(
                    f"{select} AND ord < ${n + 1} ORDER BY ord DESC LIMIT ${n + 2}",
                    *args,
                    _NEWEST if before is None else before,
                    page_size + 1,
                )
            )
            more_before = len(rows) > page_size
            rows = rows[:page_size]
            more_after = False
            if before is not None:
                first = rows[0][0] if rows else before - 1
                probe = await conn.fetchval(f"{select} AND ord > ${n + 1} LIMIT 1", *args, first)
                more_after = probe is not None
    return ConferencePage(
        conferences=[Conference.from_dict(orjson.loads(row[1])) for row in rows],
        next_before=int(rows[-1][0]) if rows and more_before else None,
        previous_after=int(rows[0][0]) if rows and more_after else None,
    )


async def floor(
    conn: asyncpg.Connection,
    account_sid: str,
    *,
    live: bool,
    ords: Collection[int] = (),
    since: int | None = None,
    participants: bool = False,
    limit: int,
) -> Floor:
    """Store.floor in one snapshot. The arrival mark is the creating
    transaction's id (created_xid); the horizon is the snapshot's xmin: every
    transaction below it had ended when the snapshot was taken."""
    select = "SELECT ord, created_xid::text::bigint, data FROM conferences WHERE account_sid = $1"
    found: dict[int, tuple[int, str]] = {}
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        horizon = int(await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text"))
        low = str(horizon if since is None else since)
        queries: list[tuple[str, tuple[Any, ...]]] = [
            (f"{select} AND created_xid >= $2::text::xid8 ORDER BY ord LIMIT $3", (low,)),
        ]
        if live:
            queries.append((f"{select} AND status <> 'completed' LIMIT $2", ()))
        if ords:
            queries.append((f"{select} AND ord = ANY($2::bigint[]) LIMIT $3", (sorted(ords),)))
        for sql, args in queries:
            for row in await conn.fetch(sql, account_sid, *args, limit + 1):
                found[int(row[0])] = (int(row[1]), row[2])
        chosen = sorted(found.items())[:limit]
        conferences = [
            (ord_, mark, Conference.from_dict(orjson.loads(data))) for ord_, (mark, data) in chosen
        ]
        people: dict[str, list[Participant]] = {}
        if participants:
            rows = await conn.fetch(
                "SELECT conference_sid, seq, data FROM participants"
                " WHERE conference_sid = ANY($1::text[]) AND active ORDER BY seq",
                [c.sid for _, _, c in conferences if c.active],
            )
            for row in rows:
                people.setdefault(row[0], []).append(participant_from_row((row[1], row[2])))
    return Floor(
        [
            FloorConference(
                ord_, mark, c, tuple(people.get(c.sid, ())) if participants and c.active else None
            )
            for ord_, mark, c in conferences
        ],
        horizon,
        truncated=len(found) > limit,
    )
