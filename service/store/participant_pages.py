"""A page of a conference's participants, the same in both SQL stores.

Rule 1: the list's SQL and the windowing of a page (whether more lie on either side)
        are written once for both dialects; each adapter hands in how it runs a query.
Rule 2: the SQL reads the conference's participants (active only unless ended ones
        are asked for) through the muted/hold/coaching filters and the attribute
        filters, a page after a cursor or before one (read backwards and turned
        around), and the conference's revision.
Rule 3: only fixed clauses are joined in and every value is a parameter.
Rule 4: cursors are seqs (creation order), so a page never repeats or skips a
        participant when others join meanwhile.
Rule 5: the adapter runs every query of a page in one snapshot, so the revision
        covers every row on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from service.core.ports.store import Page, ParticipantFilter
from service.core.records import Participant
from service.store.rows import PARTICIPANT_COLUMNS


class Query(Protocol):
    """Runs `sql` with its arguments in the adapter's snapshot: every row
    (`all_rows`) or the first one, None when there is none (`first_row`)."""

    def __call__(self, sql: str, *args: Any) -> Awaitable[Any]: ...


@dataclasses.dataclass(frozen=True)
class Dialect:
    placeholder: Callable[[int], str]  # the n-th (1-based) parameter
    active: str  # the clause "only active participants"
    flag: Callable[[bool], Any]  # a boolean filter's value as stored
    # The clause "attribute KEY equals VALUE" from the placeholders of the
    # key's argument and the value's, and the key's argument.
    attribute: Callable[[str, str], str]
    attribute_key: Callable[[str], str]


# Keys are letters, digits, `_`, `-` and `.` (service.core.attributes), so the
# quoted JSON path needs no escaping.
SQLITE = Dialect(
    placeholder=lambda _: "?",
    active="active = 1",
    flag=int,
    attribute=lambda key, value: f"json_extract(data, {key}) = {value}",
    attribute_key=lambda key: f'$.attributes."{key}"',
)
POSTGRES = Dialect(
    placeholder=lambda n: f"${n}",
    active="active",
    flag=bool,
    attribute=lambda key, value: f"(data::jsonb -> 'attributes' ->> {key}) = {value}",
    attribute_key=lambda key: key,
)


async def page(
    dialect: Dialect,
    all_rows: Query,
    first_row: Query,
    decode: Callable[[Any], Participant],
    conference_sid: str,
    flt: ParticipantFilter,
    page_size: int,
    *,
    after: int | None,
    before: int | None,
) -> Page:
    p = dialect.placeholder
    args: list[Any] = [conference_sid]
    clauses = [f"conference_sid = {p(1)}"]
    if not flt.include_ended:
        clauses.append(dialect.active)
    for column, value in (("muted", flt.muted), ("hold", flt.hold), ("coaching", flt.coaching)):
        if value is not None:
            args.append(dialect.flag(value))
            clauses.append(f"{column} = {p(len(args))}")
    for key, text in flt.attributes:
        args.extend((dialect.attribute_key(key), text))
        clauses.append(dialect.attribute(p(len(args) - 1), p(len(args))))
    select = f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE {' AND '.join(clauses)}"  # noqa: S608
    cursor, limit = p(len(args) + 1), p(len(args) + 2)
    if before is not None:
        sql = f"{select} AND seq < {cursor} ORDER BY seq DESC LIMIT {limit}"
        rows = list(await all_rows(sql, *args, before, page_size + 1))
        more_before = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        more_after = True
    else:
        sql = f"{select} AND seq > {cursor} ORDER BY seq LIMIT {limit}"
        rows = list(await all_rows(sql, *args, after if after is not None else 0, page_size + 1))
        more_after = len(rows) > page_size
        rows = rows[:page_size]
        more_before = False
        if after is not None:
            first = rows[0][0] if rows else after + 1
            probe = await first_row(f"{select} AND seq < {cursor} LIMIT 1", *args, first)
            more_before = probe is not None
    current = await first_row(
        f"SELECT revision FROM conferences WHERE sid = {p(1)}",  # noqa: S608 (placeholder only)
        conference_sid,
    )
    participants = tuple([decode(row) for row in rows])
    return Page(
        participants=participants,
        next_after=participants[-1].seq if participants and more_after else None,
        previous_before=participants[0].seq if participants and more_before else None,
        revision=0 if current is None else int(current[0]),
    )
