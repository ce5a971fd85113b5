"""PostgreSQL queries: the reads every connection shares, and the write transaction.

Rule 1: a write transaction (READ COMMITTED) locks the conference row
        (SELECT ... FOR UPDATE) before it reads anything of that conference, so
        writes to one conference are serialized across every replica and each reads
        the rows its predecessor committed; revisions therefore commit in order with
        no gap.
Rule 2: two Creates that could collide before any conference row exists (the same
        request_id, or a new conference of the same friendly name) take a
        transaction advisory lock on that key, so the second waits for the first and
        then sees its row instead of failing on the constraint. A name's lock is
        taken only when no active conference of that name is found, and then it
        is looked for again (the lock's statement ends, so the next sees what the
        lock's holder committed); one that is found is locked by its row.
Rule 3: a new participant's call belongs to the replica that dials it (`owner`).
Rule 4: locks are always taken in the same order: the key lock, then conference
        rows; a move locks its two conferences in SID order (service.core.move).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from service.core.audit import AuditRecord
from service.core.events import Event
from service.core.records import Conference, Participant
from service.store.audit_rows import INSERT_COLUMNS, audit_values
from service.store.postgres.carrier import PgCarrierRows
from service.store.postgres.held import HeldWrites, values
from service.store.postgres.numbers import PgNumberRows
from service.store.row_cache import RowCache
from service.store.rows import (
    PARTICIPANT_COLUMNS,
    dumps,
    event_values,
    is_call_sid,
    participant_from_row,
)

# A participant read's shape: (by conference SID, ended ones too, by call SID).
ParticipantShape = tuple[bool, bool, bool]


def _participant_where(shape: ParticipantShape, account: str, conference: str, key: str) -> str:
    """The WHERE of a participant read of `shape`, on the given value
    expressions (parameters or columns): only fixed clauses are joined in."""
    by_sid, include_ended, by_call_sid = shape
    where = [f"c.account_sid = {account}"]
    if by_sid:
        where.append(f"c.sid = {conference}")
    else:
        where.append(f"c.friendly_name = {conference} AND c.status <> 'completed'")
    if not include_ended:
        where.append("p.active")
    where.append(f"p.call_sid = {key}" if by_call_sid else f"p.label = {key}")
    return " AND ".join(where)


class PgReads:
    """Queries shared by the write transaction and plain reads."""

    def __init__(self, conn: asyncpg.Connection, cache: RowCache | None = None) -> None:
        self.conn = conn
        # Plain reads share decoded rows (read-only); a write transaction
        # decodes its own copies.
        self._decode = participant_from_row if cache is None else cache.participant

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        value = await self.conn.fetchval(
            "SELECT data FROM conferences WHERE sid = $1 AND account_sid = $2",
            conference_sid,
            account_sid,
        )
        return None if value is None else Conference.from_dict(orjson.loads(value))

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        value = await self.conn.fetchval(
            "SELECT data FROM conferences WHERE account_sid = $1 AND friendly_name = $2"
            " AND status <> 'completed'",
            account_sid,
            friendly_name,
        )
        return None if value is None else Conference.from_dict(orjson.loads(value))

    async def find_participant(
        self, conference_sid: str, key: str, include_ended: bool
    ) -> Participant | None:
        active = "" if include_ended else " AND active"
        if is_call_sid(key):
            row = await self.conn.fetchrow(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
                f" WHERE call_sid = $1 AND conference_sid = $2{active}",
                key,
                conference_sid,
            )
        else:
            row = await self.conn.fetchrow(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
                f" WHERE conference_sid = $1 AND label = $2{active}"
                " ORDER BY active DESC, seq DESC LIMIT 1",
                conference_sid,
                key,
            )
        return None if row is None else participant_from_row(row)

    async def participant_in(
        self, shape: ParticipantShape, account_sid: str, conference: str, key: str
    ) -> Participant | None:
        """Store.participant_in for one (account, conference, key) of `shape`."""
        sql = (
            "SELECT p.seq, p.data FROM participants p"  # noqa: S608
            " JOIN conferences c ON c.sid = p.conference_sid WHERE "
            + _participant_where(shape, "$1", "$2", "$3")
            + " ORDER BY p.active DESC, p.seq DESC LIMIT 1"
        )
        row = await self.conn.fetchrow(sql, account_sid, conference, key)
        return None if row is None else self._decode(row)

    async def participants_in(
        self, shape: ParticipantShape, asked: Sequence[tuple[str, str, str]]
    ) -> list[Participant | None]:
        """participant_in for many (account, conference, key) of one shape in
        one statement, each answered as its own statement would be."""
        sql = (
            "SELECT q.i, r.seq, r.data"  # noqa: S608
            " FROM unnest($1::text[], $2::text[], $3::text[])"
            " WITH ORDINALITY AS q(account_sid, conference, key, i)"
            " CROSS JOIN LATERAL (SELECT p.seq, p.data FROM participants p"
            " JOIN conferences c ON c.sid = p.conference_sid WHERE "
            + _participant_where(shape, "q.account_sid", "q.conference", "q.key")
            + " ORDER BY p.active DESC, p.seq DESC LIMIT 1) r"
        )
        accounts, conferences, keys = zip(*asked, strict=True)
        rows = await self.conn.fetch(sql, list(accounts), list(conferences), list(keys))
        found: list[Participant | None] = [None] * len(asked)
        for row in rows:
            found[row[0] - 1] = self._decode((row[1], row[2]))
        return found

    async def active_participants(self, conference_sid: str) -> list[Participant]:
        rows = await self.conn.fetch(
            f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
            " WHERE conference_sid = $1 AND active ORDER BY seq",
            conference_sid,
        )
        return [participant_from_row(row) for row in rows]


class PgWriteTransaction(PgReads, PgCarrierRows, PgNumberRows):
    """The writes that answer nothing are held and sent together before the
    next statement or the COMMIT (service.store.postgres.held)."""

    def __init__(self, conn: asyncpg.Connection, replica_id: str) -> None:
        self.held = HeldWrites(conn)
        super().__init__(self.held.connection)
        self.replica_id = replica_id
        self._locked: set[str] = set()
        # Conference SID -> newest revision written (announced after commit).
        self.changed: dict[str, int] = {}

    async def _lock(self, conference_sid: str) -> None:
        if conference_sid not in self._locked:
            await self.conn.execute(
                "SELECT 1 FROM conferences WHERE sid = $1 FOR UPDATE", conference_sid
            )
            self._locked.add(conference_sid)

    async def _key_lock(self, *parts: str) -> None:
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            "".join(f"{len(part)}:{part}" for part in parts),
        )

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        value = await self.conn.fetchval(
            "SELECT data FROM conferences WHERE sid = $1 AND account_sid = $2 FOR UPDATE",
            conference_sid,
            account_sid,
        )
        if value is None:
            return None
        self._locked.add(conference_sid)
        return Conference.from_dict(orjson.loads(value))

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        # Rule 2: the key lock only when no such conference is found.
        found = await self._named(account_sid, friendly_name)
        if found is None:
            await self._key_lock("conference", account_sid, friendly_name)
            found = await self._named(account_sid, friendly_name)
        return found

    async def _named(self, account_sid: str, friendly_name: str) -> Conference | None:
        row = await self.conn.fetchrow(
            "SELECT sid, data FROM conferences WHERE account_sid = $1 AND friendly_name = $2"
            " AND status <> 'completed' FOR UPDATE",
            account_sid,
            friendly_name,
        )
        if row is None:
            return None
        self._locked.add(row[0])
        return Conference.from_dict(orjson.loads(row[1]))

    async def participant(self, conference_sid: str, key: str) -> Participant | None:
        await self._lock(conference_sid)
        return await self.find_participant(conference_sid, key, include_ended=True)

    async def participant_by_call_sid(self, call_sid: str) -> Participant | None:
        # Lock its conference first, then read the participant as its last
        # writer committed it; a move committed meanwhile took it to another
        # conference: lock that one too and read again.
        while True:
            conference_sid = await self.conn.fetchval(
                "SELECT sid FROM conferences WHERE sid ="
                " (SELECT conference_sid FROM participants WHERE call_sid = $1) FOR UPDATE",
                call_sid,
            )
            if conference_sid is None:
                return None
            self._locked.add(conference_sid)
            row = await self.conn.fetchrow(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE call_sid = $1",  # noqa: S608
                call_sid,
            )
            if row is None:
                return None
            found = participant_from_row(row)
            if found.conference_sid in self._locked:
                return found

    async def active_participants(self, conference_sid: str) -> list[Participant]:
        await self._lock(conference_sid)
        return await super().active_participants(conference_sid)

    async def count_active(self, conference_sid: str) -> int:
        await self._lock(conference_sid)
        value = await self.conn.fetchval(
            "SELECT COUNT(*) FROM participants WHERE conference_sid = $1 AND active",
            conference_sid,
        )
        return int(value)

    async def active_label_taken(self, conference_sid: str, label: str) -> bool:
        await self._lock(conference_sid)
        value = await self.conn.fetchval(
            "SELECT 1 FROM participants WHERE conference_sid = $1 AND label = $2 AND active",
            conference_sid,
            label,
        )
        return value is not None

    async def active_participant(self, conference_sid: str, call_sid: str) -> Participant | None:
        await self._lock(conference_sid)
        row = await self.conn.fetchrow(
            f"SELECT {PARTICIPANT_COLUMNS} FROM participants"  # noqa: S608
            " WHERE call_sid = $1 AND conference_sid = $2 AND active",
            call_sid,
            conference_sid,
        )
        return None if row is None else participant_from_row(row)

    async def insert_conference(self, conference: Conference) -> None:
        await self.conn.execute(
            "INSERT INTO conferences (sid, account_sid, friendly_name, status, revision, data)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            conference.sid,
            conference.account_sid,
            conference.friendly_name,
            conference.status.value,
            conference.revision,
            dumps(conference),
        )
        self._locked.add(conference.sid)

    async def update_conference(self, conference: Conference) -> None:
        await self.held.hold(
            "UPDATE conferences SET status = $1, revision = $2, data = $3 WHERE sid = $4",
            (conference.status.value, conference.revision, dumps(conference), conference.sid),
            ("conferences", conference.sid),
        )
        self.changed[conference.sid] = max(conference.revision, self.changed.get(conference.sid, 0))

    @staticmethod
    def _values(p: Participant) -> tuple[Any, ...]:
        return (p.label, p.active, p.muted, p.hold, p.coaching, p.revision, dumps(p))

    async def insert_participant(self, participant: Participant) -> Participant:
        """Held (postgres.held): its seq is assigned when it is sent, before the
        transaction commits."""

        def assigned(seq: Any) -> None:
            participant.seq = int(seq)

        await self.held.hold(
            "INSERT INTO participants (call_sid, account_sid, conference_sid, label, active,"
            " muted, hold, coaching, revision, data, owner)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
            (
                participant.call_sid,
                participant.account_sid,
                participant.conference_sid,
                *self._values(participant),
                self.replica_id,
            ),
            "participants",  # two inserts never share a statement (their seqs' order)
            ("participants", participant.call_sid),
            answer=assigned,
        )
        return participant

    async def update_participant(self, participant: Participant) -> None:
        await self.held.hold(
            "UPDATE participants SET label = $1, active = $2, muted = $3, hold = $4,"
            " coaching = $5, revision = $6, data = $7, conference_sid = $9 WHERE call_sid = $8",
            (*self._values(participant), participant.call_sid, participant.conference_sid),
            ("participants", participant.call_sid),
        )

    async def append_events(self, events: Sequence[Event]) -> None:
        rows = [event_values(event) for event in events]
        await self.held.hold(
            "INSERT INTO events (conference_sid, revision, account_sid, time, type, call_sid,"  # noqa: S608
            f" data) VALUES {values(7, len(rows))}",
            [value for row in rows for value in row],
            "events",
        )

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        rows = [audit_values(record) for record in records]
        await self.held.hold(
            f"INSERT INTO audit_records ({INSERT_COLUMNS}) VALUES {values(9, len(rows))}",  # noqa: S608
            [value for row in rows for value in row],
            "audit_records",
        )

    async def request(self, account_sid: str, request_id: str) -> tuple[str, str] | None:
        await self._key_lock("request", account_sid, request_id)
        row = await self.conn.fetchrow(
            "SELECT call_sid, fingerprint FROM requests WHERE account_sid = $1 AND request_id = $2",
            account_sid,
            request_id,
        )
        return None if row is None else (row[0], row[1])

    async def record_request(
        self, account_sid: str, request_id: str, call_sid: str, fingerprint: str, at: float
    ) -> None:
        await self.held.hold(
            "INSERT INTO requests (account_sid, request_id, call_sid, fingerprint, recorded_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            (account_sid, request_id, call_sid, fingerprint, at),
            ("requests", account_sid, request_id),
        )

    async def forget_request(self, account_sid: str, request_id: str) -> None:
        await self.conn.execute(
            "DELETE FROM requests WHERE account_sid = $1 AND request_id = $2",
            account_sid,
            request_id,
        )
