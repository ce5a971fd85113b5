"""The memory store's write transaction: one change, on its own copy of the tables.

Rule 1: every read and write goes to the transaction's own Tables copy, so it
        sees its own writes and nobody else sees them before the commit.
Rule 2: a write breaking a constraint of the SQL schemas raises
        ConstraintViolation and writes nothing; what a write stores is a
        snapshot of the object it was given.
Rule 3: once its block has ended, the transaction refuses every call, so a
        kept reference can never change committed tables.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence

from service.core.audit import AuditRecord
from service.core.events import Event
from service.core.records import Conference, Participant
from service.store.memory import numbers, queries
from service.store.memory.carrier import CarrierRows
from service.store.memory.tables import (
    ConferenceRow,
    ConstraintViolation,
    EventRow,
    ParticipantRow,
    Tables,
)
from service.store.rows import dumps


class MemoryWriteTransaction(CarrierRows):
    def __init__(self, tables: Tables, owner: str) -> None:
        self._tables: Tables | None = tables
        self.owner = owner

    @property
    def tables(self) -> Tables:
        """This transaction's own copy (Rule 1)."""
        if self._tables is None:
            raise RuntimeError("the write transaction is over")
        return self._tables

    def end(self) -> Tables:
        """Close the transaction (Rule 3); its tables, for the commit."""
        tables = self.tables
        self._tables = None
        return tables

    # -- reads ------------------------------------------------------------------

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        return queries.conference(self.tables, account_sid, conference_sid)

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        return queries.active_conference_named(self.tables, account_sid, friendly_name)

    async def participant(self, conference_sid: str, key: str) -> Participant | None:
        return queries.find_participant(self.tables, conference_sid, key, include_ended=True)

    async def participant_by_call_sid(self, call_sid: str) -> Participant | None:
        row = self.tables.participants.get(call_sid)
        return None if row is None else row.decode()

    async def active_participants(self, conference_sid: str) -> list[Participant]:
        return queries.active_participants(self.tables, conference_sid)

    async def count_active(self, conference_sid: str) -> int:
        return sum(1 for row in queries.participant_rows(self.tables, conference_sid) if row.active)

    async def active_label_taken(self, conference_sid: str, label: str) -> bool:
        return any(
            row.active and row.label == label
            for row in queries.participant_rows(self.tables, conference_sid)
        )

    async def active_participant(self, conference_sid: str, call_sid: str) -> Participant | None:
        row = self.tables.participants.get(call_sid)
        if row is None or not row.active or row.conference_sid != conference_sid:
            return None
        return row.decode()

    async def request(self, account_sid: str, request_id: str) -> tuple[str, str] | None:
        return self.tables.requests.get((account_sid, request_id))

    # -- writes -----------------------------------------------------------------

    async def insert_conference(self, conference: Conference) -> None:
        t = self.tables
        if conference.sid in t.conferences:
            raise ConstraintViolation(f"UNIQUE: conference {conference.sid} exists")
        row = ConferenceRow.of(t.last_order + 1, conference)
        self._check_conference_name(row)
        t.conferences[row.sid] = row
        t.last_order = row.order

    async def update_conference(self, conference: Conference) -> None:
        t = self.tables
        old = t.conferences.get(conference.sid)
        if old is None:
            return  # as an UPDATE that matches no row
        # The SQL stores update status, revision and data: sid, account and name stay.
        row = dataclasses.replace(
            ConferenceRow.of(old.order, conference),
            account_sid=old.account_sid,
            friendly_name=old.friendly_name,
        )
        self._check_conference_name(row)
        t.conferences[row.sid] = row

    def _check_conference_name(self, row: ConferenceRow) -> None:
        taken = queries.active_conference_row(self.tables, row.account_sid, row.friendly_name)
        if row.active and taken is not None and taken.sid != row.sid:
            raise ConstraintViolation(
                f"UNIQUE: an active conference is named {row.friendly_name!r} already"
            )

    async def insert_participant(self, participant: Participant) -> Participant:
        t = self.tables
        if participant.call_sid in t.participants:
            raise ConstraintViolation(f"UNIQUE: participant {participant.call_sid} exists")
        if participant.conference_sid not in t.conferences:
            raise ConstraintViolation(f"FOREIGN KEY: no conference {participant.conference_sid}")
        row = ParticipantRow.of(t.last_seq + 1, participant)
        self._check_label(row)
        t.participants[row.call_sid] = row
        t.last_seq = row.seq
        participant.seq = row.seq
        return participant

    async def update_participant(self, participant: Participant) -> None:
        t = self.tables
        old = t.participants.get(participant.call_sid)
        if old is None:
            return  # as an UPDATE that matches no row
        # A move writes the participant's new conference (the SQL stores do too).
        row = ParticipantRow.of(old.seq, participant)
        if row.conference_sid not in t.conferences:
            raise ConstraintViolation(f"FOREIGN KEY: no conference {row.conference_sid}")
        self._check_label(row)
        t.participants[row.call_sid] = row

    def _check_label(self, row: ParticipantRow) -> None:
        if not row.active or row.label is None:
            return
        for other in queries.participant_rows(self.tables, row.conference_sid):
            if other.active and other.label == row.label and other.call_sid != row.call_sid:
                raise ConstraintViolation(
                    f"UNIQUE: an active participant is labelled {row.label!r} already"
                )

    async def append_events(self, events: Sequence[Event]) -> None:
        t = self.tables
        added: dict[str, list[EventRow]] = {}
        for event in events:
            rows = added.setdefault(
                event.conference_sid, list(t.events.get(event.conference_sid, ()))
            )
            at = bisect.bisect_left(rows, event.revision, key=lambda row: row.revision)
            if at < len(rows) and rows[at].revision == event.revision:
                raise ConstraintViolation(
                    f"UNIQUE: event {event.revision} of {event.conference_sid} exists"
                )
            rows.insert(at, EventRow(event.revision, event.time, dumps(event)))
        for conference_sid, rows in added.items():
            t.events[conference_sid] = tuple(rows)

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        t = self.tables
        for record in records:
            t.last_audit_id += 1
            t.audit[t.last_audit_id] = dataclasses.replace(record, id=t.last_audit_id)

    async def index_numbers(
        self, account_sid: str, conference_sid: str, call_sid: str, digests: Sequence[str]
    ) -> None:
        for digest in digests:
            self.tables.number_index[(account_sid, digest, call_sid)] = conference_sid

    async def redact_call(self, account_sid: str, conference_sid: str, call_sid: str) -> None:
        numbers.redact_call(self.tables, account_sid, conference_sid, call_sid)

    async def record_request(
        self, account_sid: str, request_id: str, call_sid: str, fingerprint: str, at: float
    ) -> None:
        requests = self.tables.requests
        if (account_sid, request_id) in requests:
            raise ConstraintViolation(f"UNIQUE: request {request_id} exists")
        requests[(account_sid, request_id)] = (call_sid, fingerprint)
        self.tables.request_times[(account_sid, request_id)] = at

    async def forget_request(self, account_sid: str, request_id: str) -> None:
        self.tables.requests.pop((account_sid, request_id), None)
        self.tables.request_times.pop((account_sid, request_id), None)
