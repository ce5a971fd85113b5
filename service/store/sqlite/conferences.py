"""SQLite: listing an account's conferences (Store.list_conferences).

The rule it keeps: newest first by creation order (the conferences table's
rowid), filtered only by fixed clauses with every value a parameter; cursors
are rowids, so a page never repeats or skips a conference when others are
created meanwhile. Each row is the conference as last committed, with its
revision. Dates live in the row's JSON, read with json_extract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from service.core.model import Conference
from service.core.ports.store import ConferenceFilter, ConferencePage

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
