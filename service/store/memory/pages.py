"""Pages of a list from the memory store: participants and conferences; floor reads.

Rule 1: cursors are creation-order keys (a participant's seq, a conference's
        order), so a page never repeats or skips a row created meanwhile.
Rule 2: a page is cut from one state (see queries, Rule 1), so the revision
        it carries covers every row on it.
Rule 3: whether more lie on either side is answered as the SQL stores answer
        it (participant_pages, the SQLite conference list), cursor for cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from service.core.attributes import matches
from service.core.ports.store import (
    ConferenceFilter,
    ConferencePage,
    Floor,
    FloorConference,
    Page,
    ParticipantFilter,
)
from service.store.memory.queries import participant_rows
from service.store.memory.tables import ConferenceRow, ParticipantRow, Tables

Row = TypeVar("Row")


def window(
    rows: Sequence[Row],
    key: Callable[[Row], int],
    page_size: int,
    *,
    descending: bool,
    start_after: int | None,
    end_before: int | None,
) -> tuple[list[Row], bool, bool]:
    """(page, more before it, more after it) of `rows`, given in list order
    (keys ascending, or `descending`): the page that ends just before the
    cursor `end_before`, else the one that starts just after the cursor
    `start_after`, else the first."""

    def beyond(k: int, cursor: int) -> bool:
        """Whether key `k` comes after `cursor` in list order."""
        return k < cursor if descending else k > cursor

    if end_before is not None:
        earlier = [row for row in rows if beyond(end_before, key(row))]
        return earlier[max(len(earlier) - page_size, 0) :], len(earlier) > page_size, True
    later = list(rows)
    if start_after is not None:
        later = [row for row in rows if beyond(key(row), start_after)]
    more_before = start_after is not None and len(later) < len(rows)
    return later[:page_size], more_before, len(later) > page_size


def participants(
    t: Tables,
    conference_sid: str,
    flt: ParticipantFilter,
    page_size: int,
    *,
    after: int | None,
    before: int | None,
) -> Page:
    def shown(row: ParticipantRow) -> bool:
        return (
            (flt.include_ended or row.active)
            and (flt.muted is None or row.muted == flt.muted)
            and (flt.hold is None or row.hold == flt.hold)
            and (flt.coaching is None or row.coaching == flt.coaching)
            and (not flt.attributes or matches(row.decode().attributes, flt.attributes))
        )

    rows = [row for row in participant_rows(t, conference_sid) if shown(row)]
    page, more_before, more_after = window(
        rows, lambda row: row.seq, page_size, descending=False, start_after=after, end_before=before
    )
    conference = t.conferences.get(conference_sid)
    return Page(
        participants=tuple([row.decode() for row in page]),
        next_after=page[-1].seq if page and more_after else None,
        previous_before=page[0].seq if page and more_before else None,
        revision=0 if conference is None else conference.revision,
    )


def conferences(
    t: Tables,
    account_sid: str,
    flt: ConferenceFilter,
    page_size: int,
    *,
    before: int | None,
    after: int | None,
) -> ConferencePage:
    def shown(row: ConferenceRow) -> bool:
        return (
            row.account_sid == account_sid
            and (flt.friendly_name is None or row.friendly_name == flt.friendly_name)
            and (flt.status is None or row.status is flt.status)
            and (flt.created_from is None or row.date_created >= flt.created_from)
            and (flt.created_before is None or row.date_created < flt.created_before)
            and (flt.updated_from is None or row.date_updated >= flt.updated_from)
            and (flt.updated_before is None or row.date_updated < flt.updated_before)
        )

    newest_first = sorted(
        (row for row in t.conferences.values() if shown(row)), key=lambda row: -row.order
    )
    # Newest first: the next page lies `before` a cursor, the previous `after` it.
    page, more_before, more_after = window(
        newest_first,
        lambda row: row.order,
        page_size,
        descending=True,
        start_after=before,
        end_before=after,
    )
    return ConferencePage(
        conferences=[row.decode() for row in page],
        next_before=page[-1].order if page and more_after else None,
        previous_after=page[0].order if page and more_before else None,
    )


def floor(
    t: Tables,
    account_sid: str,
    *,
    live: bool,
    ords: Collection[int],
    since: int | None,
    participants: bool,
    limit: int,
) -> Floor:
    """Store.floor over one state: the arrival mark is the creation order (one writer)."""
    horizon = t.last_order + 1
    low = horizon if since is None else since
    wanted = set(ords)
    rows = sorted(
        (
            row
            for row in t.conferences.values()
            if row.account_sid == account_sid
            and ((live and row.active) or row.order in wanted or row.order >= low)
        ),
        key=lambda row: row.order,
    )
    found = []
    for row in rows[:limit]:
        people = None
        if participants and row.active:
            people = tuple(p.decode() for p in participant_rows(t, row.sid) if p.active)
        found.append(FloorConference(row.order, row.order, row.decode(), people))
    return Floor(found, horizon, truncated=len(rows) > limit)
