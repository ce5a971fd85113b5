"""SQLite: the number index and in-place redaction (number_index, 0012_audit_and_numbers.sql).

Rule 1: every statement runs inline inside its caller's transaction or read
        snapshot; each finds its rows by an index (the index's key, or a
        conference's events and dead letters), never by scanning the account.
Rule 2: redaction rewrites each stored copy through service.core.personal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import orjson

from service.core import personal

HOLDERS = (
    "SELECT n.conference_sid, n.call_sid, p.active,"
    " (SELECT COUNT(*) FROM events e WHERE e.conference_sid = n.conference_sid"
    "  AND e.call_sid = n.call_sid),"
    " (SELECT COUNT(*) FROM callback_dead_letters d WHERE d.conference_sid = n.conference_sid"
    "  AND d.call_sid = n.call_sid)"
    " FROM number_index n JOIN participants p ON p.call_sid = n.call_sid"
    " WHERE n.account_sid = ? AND n.digest = ? ORDER BY p.seq"
)


# What the participants_ended index finds (0008_retention.sql, word for word).
_ENDED = "COALESCE(json_extract(data, '$.ended_at'), json_extract(data, '$.date_updated'))"


class Reads(Protocol):
    async def _all(self, sql: str, *args: Any) -> Any: ...


async def unredacted(
    r: Reads,
    ended_before: float,
    limit: int,
    account_sid: str | None,
    exclude: Collection[str],
) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT account_sid, conference_sid, call_sid FROM participants"  # noqa: S608
        f" WHERE active = 0 AND {_ENDED} < ? AND (label IS NOT NULL"
        " OR json_extract(data, '$.from_endpoint') != ''"
        " OR json_extract(data, '$.to_endpoint') != '')"
    )
    args: list[Any] = [ended_before]
    if account_sid is not None:
        sql += " AND account_sid = ?"
        args.append(account_sid)
    if exclude:
        sql += f" AND account_sid NOT IN ({', '.join('?' for _ in exclude)})"
        args.extend(exclude)
    rows = await r._all(sql + " LIMIT ?", *args, limit)
    return [(row[0], row[1], row[2]) for row in rows]


def holder(row: Any) -> personal.NumberHolder:
    return personal.NumberHolder(row[0], row[1], bool(row[2]), int(row[3]), int(row[4]))


class NumberRows:
    """Mixed into the SQLite write transaction (needs its `_all` and `raw`:
    its writes run inline, as every row write of a change does)."""

    raw: sqlite3.Connection

    async def _all(self, sql: str, *args: Any) -> Any: ...

    async def index_numbers(
        self, account_sid: str, conference_sid: str, call_sid: str, digests: Sequence[str]
    ) -> None:
        await _index(self, account_sid, conference_sid, call_sid, digests)

    async def redact_call(self, account_sid: str, conference_sid: str, call_sid: str) -> None:
        await _redact_call(self, account_sid, conference_sid, call_sid)


async def _index(
    tx: NumberRows,
    account_sid: str,
    conference_sid: str,
    call_sid: str,
    digests: Sequence[str],
) -> None:
    tx.raw.executemany(
        "INSERT OR IGNORE INTO number_index (account_sid, digest, call_sid, conference_sid)"
        " VALUES (?, ?, ?, ?)",
        [(account_sid, digest, call_sid, conference_sid) for digest in digests],
    )


async def _redact_call(
    tx: NumberRows, account_sid: str, conference_sid: str, call_sid: str
) -> None:
    events = await tx._all(
        "SELECT rowid, data FROM events WHERE conference_sid = ? AND call_sid = ?",
        conference_sid,
        call_sid,
    )
    tx.raw.executemany(
        "UPDATE events SET data = ? WHERE rowid = ?",
        [(_json(personal.redact_event_data(orjson.loads(data))), rowid) for rowid, data in events],
    )
    letters = await tx._all(
        "SELECT id, params FROM callback_dead_letters WHERE conference_sid = ? AND call_sid = ?"
        " AND account_sid = ?",
        conference_sid,
        call_sid,
        account_sid,
    )
    tx.raw.executemany(
        "UPDATE callback_dead_letters SET params = ? WHERE id = ?",
        [(_json(personal.redact_params(orjson.loads(params))), i) for i, params in letters],
    )
    tx.raw.execute(
        "UPDATE requests SET fingerprint = ? WHERE account_sid = ? AND call_sid = ?",
        (personal.REDACTED_FINGERPRINT, account_sid, call_sid),
    )
    tx.raw.execute(
        "DELETE FROM number_index WHERE conference_sid = ? AND call_sid = ?",
        (conference_sid, call_sid),
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
