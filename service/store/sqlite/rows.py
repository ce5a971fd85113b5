"""SQLite rows: the queries a change and a read run, and the row writes of a change.

Rule 1: every statement here runs inline on the connection it is given (see
        service.store.sqlite.inline), inside the transaction or read snapshot its
        caller opened.
Rule 2: nothing here opens, commits or rolls back a transaction.
Rule 3: a participant row is (seq, data): its creation order and its JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite
import orjson

from service.core.audit import AuditRecord
from service.core.events import Event
from service.core.records import Conference, Participant
from service.store.audit_rows import INSERT_COLUMNS, audit_values
from service.store.row_cache import RowCache
from service.store.rows import (
    PARTICIPANT_COLUMNS,
    dumps,
    event_values,
    is_call_sid,
    participant_from_row,
)
from service.store.sqlite.carrier import CarrierRows
from service.store.sqlite.inline import raw
from service.store.sqlite.numbers import NumberRows


class SqliteReads:
    """Queries shared by the write transaction and the read connections."""

    def __init__(self, conn: aiosqlite.Connection, cache: RowCache | None = None) -> None:
        self.conn = conn
        self.raw = raw(conn)
        # Read connections share decoded rows (read-only); a write transaction
        # decodes its own copies.
        self._decode = participant_from_row if cache is None else cache.participant

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        """Execute and fetch inline (see the module's docstring)."""
        return self.raw.execute(sql, args).fetchall()

    async def _one(self, sql: str, *args: Any) -> Any:
        return self.raw.execute(sql, args).fetchone()

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        row = await self._one(
            "SELECT data FROM conferences WHERE sid = ? AND account_sid = ?",
            conference_sid,
            account_sid,
        )
        return None if row is None else Conference.from_dict(orjson.loads(row[0]))

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        row = await self._one(
            "SELECT data FROM conferences WHERE account_sid = ? AND friendly_name = ?"
            " AND status != 'completed'",
            account_sid,
            friendly_name,
        )
        return None if row is None else Conference.from_dict(orjson.loads(row[0]))

    async def find_participant(
        self, conference_sid: str, key: str, include_ended: bool
    ) -> Participant | None:
        active = "" if include_ended else " AND active = 1"
        if is_call_sid(key):
            row = await self._one(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
                f" WHERE call_sid = ? AND conference_sid = ?{active}",
                key,
                conference_sid,
            )
        else:
            row = await self._one(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
                f" WHERE conference_sid = ? AND label = ?{active}"
                " ORDER BY active DESC, seq DESC LIMIT 1",
                conference_sid,
                key,
            )
        return None if row is None else participant_from_row(row)

    async def participant_in(
        self, account_sid: str, conference: str, by_sid: bool, key: str, include_ended: bool
    ) -> Participant | None:
        """One query: the participant `key` of the account's conference (by SID,
        or the active one of that friendly name)."""
        where = ["c.account_sid = ?"]
        args: list[Any] = [account_sid]
        if by_sid:
            where.append("c.sid = ?")
        else:
            where.append("c.friendly_name = ? AND c.status != 'completed'")
        args.append(conference)
        if not include_ended:
            where.append("p.active = 1")
        if is_call_sid(key):
            where.append("p.call_sid = ?")
        else:
            where.append("p.label = ?")
        args.append(key)
        # Only fixed clauses are joined in; every value is a parameter.
        sql = (
            "SELECT p.seq, p.data FROM participants p"  # noqa: S608
            " JOIN conferences c ON c.sid = p.conference_sid WHERE "
            + " AND ".join(where)
            + " ORDER BY p.active DESC, p.seq DESC LIMIT 1"
        )
        row = await self._one(sql, *args)
        return None if row is None else self._decode(row)

    async def active_participants(self, conference_sid: str) -> list[Participant]:
        rows = await self._all(
            f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
            " WHERE conference_sid = ? AND active = 1 ORDER BY seq",
            conference_sid,
        )
        return [participant_from_row(row) for row in rows]


class SqliteWriteTransaction(SqliteReads, CarrierRows, NumberRows):
    async def count_active(self, conference_sid: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM participants WHERE conference_sid = ? AND active = 1",
            conference_sid,
        )
        return int(row[0])

    async def active_label_taken(self, conference_sid: str, label: str) -> bool:
        row = await self._one(
            "SELECT 1 FROM participants WHERE conference_sid = ? AND label = ? AND active = 1",
            conference_sid,
            label,
        )
        return row is not None

    async def active_participant(self, conference_sid: str, call_sid: str) -> Participant | None:
        row = await self._one(
            f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
            " WHERE call_sid = ? AND conference_sid = ? AND active = 1",
            call_sid,
            conference_sid,
        )
        return None if row is None else participant_from_row(row)

    async def participant(self, conference_sid: str, key: str) -> Participant | None:
        return await self.find_participant(conference_sid, key, include_ended=True)

    async def participant_by_call_sid(self, call_sid: str) -> Participant | None:
        row = await self._one(
            f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE call_sid = ?",  # noqa: S608
            call_sid,
        )
        return None if row is None else participant_from_row(row)

    async def insert_conference(self, conference: Conference) -> None:
        self.raw.execute(
            "INSERT INTO conferences (sid, account_sid, friendly_name, status, revision, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                conference.sid,
                conference.account_sid,
                conference.friendly_name,
                conference.status.value,
                conference.revision,
                dumps(conference),
            ),
        )

    async def update_conference(self, conference: Conference) -> None:
        self.raw.execute(
            "UPDATE conferences SET status = ?, revision = ?, data = ? WHERE sid = ?",
            (
                conference.status.value,
                conference.revision,
                dumps(conference),
                conference.sid,
            ),
        )

    def _participant_values(self, p: Participant) -> tuple[Any, ...]:
        return (
            p.label,
            int(p.active),
            int(p.muted),
            int(p.hold),
            int(p.coaching),
            p.revision,
            dumps(p),
        )

    async def insert_participant(self, participant: Participant) -> Participant:
        cursor = self.raw.execute(
            "INSERT INTO participants (call_sid, account_sid, conference_sid, label, active,"
            " muted, hold, coaching, revision, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                participant.call_sid,
                participant.account_sid,
                participant.conference_sid,
                *self._participant_values(participant),
            ),
        )
        participant.seq = cursor.lastrowid or 0
        return participant

    async def update_participant(self, participant: Participant) -> None:
        self.raw.execute(
            "UPDATE participants SET label = ?, active = ?, muted = ?, hold = ?, coaching = ?,"
            " revision = ?, data = ?, conference_sid = ? WHERE call_sid = ?",
            (
                *self._participant_values(participant),
                participant.conference_sid,
                participant.call_sid,
            ),
        )

    async def append_events(self, events: Sequence[Event]) -> None:
        self.raw.executemany(
            "INSERT INTO events (conference_sid, revision, account_sid, time, type, call_sid,"
            " data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [event_values(event) for event in events],
        )

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        self.raw.executemany(
            f"INSERT INTO audit_records ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [audit_values(record) for record in records],
        )

    async def request(self, account_sid: str, request_id: str) -> tuple[str, str] | None:
        row = await self._one(
            "SELECT call_sid, fingerprint FROM requests WHERE account_sid = ? AND request_id = ?",
            account_sid,
            request_id,
        )
        return None if row is None else (row[0], row[1])

    async def record_request(
        self, account_sid: str, request_id: str, call_sid: str, fingerprint: str, at: float
    ) -> None:
        self.raw.execute(
            "INSERT INTO requests (account_sid, request_id, call_sid, fingerprint, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (account_sid, request_id, call_sid, fingerprint, at),
        )

    async def forget_request(self, account_sid: str, request_id: str) -> None:
        self.raw.execute(
            "DELETE FROM requests WHERE account_sid = ? AND request_id = ?",
            (account_sid, request_id),
        )
