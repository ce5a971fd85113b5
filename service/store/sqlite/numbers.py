"""SQLite: the number index and in-place redaction (number_index, 0012_audit_and_numbers.sql).

Rule 1: every statement runs inline inside its caller's transaction or read
        snapshot; each finds its rows by an index (the index's key, or a
        conference's events and dead letters), never by scanning the account.
Rule 2: redaction rewrites each stored copy through service.core.personal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

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
