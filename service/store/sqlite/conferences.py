"""SQLite: listing an account's conferences (Store.list_conferences, Store.floor).

Rule 1: newest first by creation order (the conferences table's rowid), filtered
        only by fixed clauses with every value a parameter.
Rule 2: cursors are rowids, so a page never repeats or skips a conference when
        others are created meanwhile.
Rule 3: each row is the conference as last committed, with its revision.
Rule 4: dates live in the row's JSON, read with json_extract.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import orjson

from service.core.ports.store import ConferenceFilter, ConferencePage, Floor, FloorConference
from service.core.records import Conference, Participant
from service.store.rows import participant_from_row

if TYPE_CHECKING:
    from service.store.sqlite.rows import SqliteReads

_NEWEST = 2**63 - 1
_DATE_CLAUSES = (
    ("json_extract(data, '$.date_created') >= ?", "created_from"),
    ("json_extract(data, '$.date_created') < ?", "created_before"),
    ("json_extract(data, '$.date_updated') >= ?", "updated_from"),
    ("json_extract(data, '$.date_updated') < ?", "updated_before"),
)


async def list_conferences(
    r: SqliteReads,
    account_sid: str,
    flt: ConferenceFilter,
    *,
    page_size: int,
    before: int | None,
    after: int | None,
) -> ConferencePage:
    where = ["account_sid = ?"]
    args: list[Any] = [account_sid]
    if flt.friendly_name is not None:
        where.append("friendly_name = ?")
        args.append(flt.friendly_name)
    if flt.status is not None:
        where.append("status = ?")
        args.append(flt.status.value)
    for clause, field in _DATE_CLAUSES:
        value = getattr(flt, field)
        if value is not None:
            where.append(clause)
            args.append(value)
    # Only fixed clauses are joined in; every value is a parameter.
    select = "SELECT rowid, data FROM conferences WHERE " + " AND ".join(where)  # noqa: S608
    if after is not None:
        rows = await r._all(
            f"{select} AND rowid > ? ORDER BY rowid LIMIT ?", *args, after, page_size + 1
        )
        more_after = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        more_before = True
    else:
        rows = await r._all(
            f"{select} AND rowid < ? ORDER BY rowid DESC LIMIT ?",
            *args,
            _NEWEST if before is None else before,
            page_size + 1,
        )
        more_before = len(rows) > page_size
        rows = rows[:page_size]
        more_after = False
        if before is not None:
            first = rows[0][0] if rows else before - 1
            more_after = await r._one(f"{select} AND rowid > ? LIMIT 1", *args, first) is not None
    return ConferencePage(
        conferences=[Conference.from_dict(orjson.loads(row[1])) for row in rows],
        next_before=int(rows[-1][0]) if rows and more_before else None,
        previous_after=int(rows[0][0]) if rows and more_after else None,
    )


async def floor(
    r: SqliteReads,
    account_sid: str,
    *,
    live: bool,
    ords: Collection[int],
    since: int | None,
    participants: bool,
    limit: int,
) -> Floor:
    """Store.floor, inside the read transaction the caller opened. One writer
    commits conferences in rowid order, so the rowid is the arrival mark and
    the next rowid the horizon (conferences are never deleted: none is reused)."""
    (top,) = await r._one("SELECT COALESCE(MAX(rowid), 0) FROM conferences")
    horizon = int(top) + 1
    found: dict[int, str] = {}
    queries: list[tuple[str, tuple[Any, ...]]] = [
        (
            "SELECT rowid, data FROM conferences WHERE account_sid = ? AND rowid >= ?"
            " ORDER BY rowid LIMIT ?",
            (account_sid, horizon if since is None else since, limit + 1),
        )
    ]
    if live:
        queries.append(
            (
                "SELECT rowid, data FROM conferences WHERE account_sid = ?"
                " AND status != 'completed' LIMIT ?",
                (account_sid, limit + 1),
            )
        )
    if ords:
        queries.append(
            (
                "SELECT rowid, data FROM conferences WHERE account_sid = ?"
                " AND rowid IN (SELECT value FROM json_each(?)) LIMIT ?",
                (account_sid, orjson.dumps(sorted(ords)).decode(), limit + 1),
            )
        )
    for sql, args in queries:
        for rowid, data in await r._all(sql, *args):
            found[int(rowid)] = data
    chosen = sorted(found.items())
    conferences = [(rowid, Conference.from_dict(orjson.loads(data))) for rowid, data in chosen]
    conferences = conferences[:limit]
    people: dict[str, list[Participant]] = {}
    if participants:
        sids = [c.sid for _, c in conferences if c.active]
        for sid, seq, data in await r._all(
            "SELECT conference_sid, seq, data FROM participants WHERE active = 1"
            " AND conference_sid IN (SELECT value FROM json_each(?)) ORDER BY seq",
            orjson.dumps(sids).decode(),
        ):
            people.setdefault(sid, []).append(participant_from_row((seq, data)))
    return Floor(
        [
            FloorConference(
                rowid,
                rowid,
                c,
                tuple(people.get(c.sid, ())) if participants and c.active else None,
            )
            for rowid, c in conferences
        ],
        horizon,
        truncated=len(chosen) > limit,
    )
