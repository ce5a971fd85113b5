"""A page of a conference's participants, the same in both SQL stores.

What it owns: the WHERE clause of a participant list (the conference, active
only unless ended ones are asked for, the muted/hold/coaching filters) and
the windowing of a page (a page after a cursor, or before one read backwards
and turned around; whether more lie on either side), over queries each
adapter writes in its own dialect.

The rules it keeps: only fixed clauses are joined in and every value is a
parameter; cursors are seqs (creation order), so a page never repeats or
skips a participant when others join meanwhile; the adapter runs every
query of a page in one snapshot, so the revision covers every row on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from service.core.model import Participant
from service.core.ports.store import Page, ParticipantFilter

# (cursor seq, limit) -> rows (seq, data): after it in seq order, or before
# it in reverse seq order.
Rows = Callable[[int, int], Awaitable[list[Any]]]


def where(
    conference_sid: str,
    flt: ParticipantFilter,
    *,
    placeholder: Callable[[int], str],
    active: str,
    flag: Callable[[bool], Any],
) -> tuple[str, list[Any]]:
    """The list's WHERE clause and its arguments; `placeholder(n)` names the
    n-th (1-based) parameter, `active` is the dialect's active-only clause and
    `flag` converts a filter's boolean."""
    args: list[Any] = [conference_sid]
    clauses = [f"conference_sid = {placeholder(1)}"]
    if not flt.include_ended:
        clauses.append(active)
    for column, value in (("muted", flt.muted), ("hold", flt.hold), ("coaching", flt.coaching)):
        if value is not None:
            args.append(flag(value))
            clauses.append(f"{column} = {placeholder(len(args))}")
    return " AND ".join(clauses), args


async def page(
    *,
    after_rows: Rows,
    before_rows: Rows,
    any_before: Callable[[int], Awaitable[bool]],
    revision: Callable[[], Awaitable[int | None]],
    decode: Callable[[Any], Participant],
    page_size: int,
    after: int | None,
    before: int | None,
) -> Page:
    if before is not None:
        rows = await before_rows(before, page_size + 1)
        more_before = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        more_after = True
    else:
        rows = await after_rows(after if after is not None else 0, page_size + 1)
        more_after = len(rows) > page_size
        rows = rows[:page_size]
        more_before = False
        if after is not None:
            more_before = await any_before(rows[0][0] if rows else after + 1)
    current = await revision()
    participants = [decode(row) for row in rows]
    return Page(
        participants=participants,
        next_after=participants[-1].seq if participants and more_after else None,
        previous_before=participants[0].seq if participants and more_before else None,
        revision=0 if current is None else int(current),
    )
