"""The in-memory store: the store port kept in Python dicts, for tests and demos.

Rule 1: one writer at a time (the database's lock); a change works on its
        own copy of the tables and commits by replacing them whole, so a
        change that raises or is cancelled leaves nothing behind.
Rule 2: readers see the committed tables only, each read in one state.
Rule 3: every object handed out is decoded afresh (the caller's own copy).
Rule 4: nothing outlives the MemoryDatabase: stores opened on one database
        are processes sharing it; `owner` names whose placements are `mine`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Collection

from service.core.audit import AuditFilter, AuditRecord
from service.core.events import Event
from service.core.personal import NumberHolder
from service.core.ports.store import (
    ConferenceFilter,
    ConferencePage,
    Floor,
    Page,
    ParticipantFilter,
    WebhookCursor,
)
from service.core.records import Conference, Participant
from service.store.memory import numbers, pages, queries
from service.store.memory import retention as memory_retention
from service.store.memory.tables import MemoryDatabase, Tables
from service.store.memory.transaction import MemoryWriteTransaction


class MemoryStore:
    def __init__(self, database: MemoryDatabase | None = None, owner: str = "memory") -> None:
        self.database = MemoryDatabase() if database is None else database
        self.owner = owner
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False

    def committed(self) -> Tables:
        """The committed tables (Rule 2): read them without awaiting in between."""
        if not self._open:
            raise RuntimeError("store is not open")
        return self.database.tables

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[MemoryWriteTransaction]:
        """One change: committed when the block ends normally, else dropped (Rule 1)."""
        self.committed()  # a closed store refuses before anything waits
        async with self.database.write_lock:
            tx = MemoryWriteTransaction(self.database.tables.copy(), self.owner)
            try:
                yield tx
            finally:
                tables = tx.end()
            self.database.tables = tables

    # -- reads ------------------------------------------------------------------

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        return queries.conference(self.committed(), account_sid, conference_sid)

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        return queries.active_conference_named(self.committed(), account_sid, friendly_name)

    async def participant(
        self, conference_sid: str, key: str, *, include_ended: bool
    ) -> Participant | None:
        return queries.find_participant(self.committed(), conference_sid, key, include_ended)

    async def participant_in(
        self, account_sid: str, conference: str, by_sid: bool, key: str, *, include_ended: bool
    ) -> Participant | None:
        return queries.participant_in(
            self.committed(), account_sid, conference, by_sid, key, include_ended
        )

    async def list_participants(
        self,
        conference_sid: str,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Page:
        return pages.participants(
            self.committed(), conference_sid, flt, page_size, after=after, before=before
        )

    async def list_conferences(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None = None,
        after: int | None = None,
    ) -> ConferencePage:
        return pages.conferences(
            self.committed(), account_sid, flt, page_size, before=before, after=after
        )

    async def events(self, conference_sid: str, after_revision: int, limit: int) -> list[Event]:
        rows = self.committed().events.get(conference_sid, ())
        newer = [row for row in rows if row.revision > after_revision]
        return [row.decode() for row in newer[: max(limit, 0)]]

    async def floor(
        self,
        account_sid: str,
        *,
        live: bool,
        ords: Collection[int] = (),
        since: int | None = None,
        participants: bool = False,
        limit: int,
    ) -> Floor:
        return pages.floor(
            self.committed(),
            account_sid,
            live=live,
            ords=ords,
            since=since,
            participants=participants,
            limit=limit,
        )

    async def oldest_revision(self, conference_sid: str) -> int | None:
        rows = self.committed().events.get(conference_sid, ())
        return rows[0].revision if rows else None

    async def active_participants_everywhere(self) -> list[Participant]:
        """Every active participant: no heartbeats here, so a database's
        stores count as one process's runs (as SQLite's one file does)."""
        rows = sorted(self.committed().participants.values(), key=lambda row: row.seq)
        return [row.decode() for row in rows if row.active]

    # -- maintenance and settings -------------------------------------------------

    async def compact(self, older_than: float, keep: int, *, batch: int = 500) -> int:
        return await memory_retention.compact(self, older_than, keep, batch)

    async def expire_participants(self, ended_before: float, limit: int) -> int:
        return await memory_retention.expire_participants(self, ended_before, limit)

    async def expire_conferences(self, ended_before: float, limit: int) -> int:
        return await memory_retention.expire_conferences(self, ended_before, limit)

    async def expire_requests(self, recorded_before: float, limit: int) -> int:
        return await memory_retention.expire_requests(self, recorded_before, limit)

    async def expire_carrier_calls(self, ended_before: float, limit: int) -> int:
        return await memory_retention.expire_carrier_calls(self, ended_before, limit)

    async def expire_carrier_callbacks(self, received_before: float, limit: int) -> int:
        return await memory_retention.expire_carrier_callbacks(self, received_before, limit)

    async def expire_audit(self, recorded_before: float, limit: int) -> int:
        async with self.write() as tx:
            audit = tx.tables.audit
            gone = [i for i, r in audit.items() if r.time < recorded_before][:limit]
            for record_id in gone:
                del audit[record_id]
        return len(gone)

    async def unredacted_participants(
        self,
        ended_before: float,
        limit: int,
        *,
        account_sid: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, str, str]]:
        return numbers.unredacted(self.committed(), ended_before, limit, account_sid, exclude)

    async def audit_records(
        self, account_sid: str, flt: AuditFilter, *, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        found: list[AuditRecord] = []
        for record_id in sorted(self.committed().audit, reverse=True):
            record = self.committed().audit[record_id]
            if record.account_sid != account_sid or (
                before_id is not None and record_id >= before_id
            ):
                continue
            if flt.matches(record):
                found.append(record)
                if len(found) == limit:
                    break
        return found

    async def number_holders(self, account_sid: str, digest: str) -> list[NumberHolder]:
        return numbers.holders(self.committed(), account_sid, digest)

    async def get_meta(self, key: str) -> str | None:
        return self.committed().meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        async with self.write() as tx:
            tx.tables.meta[key] = value

    async def set_meta_once(self, key: str, value: str) -> str:
        async with self.write() as tx:
            meta = tx.tables.meta
            if not meta.get(key):
                meta[key] = value
            return meta[key]

    # -- status callback delivery -------------------------------------------------

    async def webhook_cursor(self, conference_sid: str) -> WebhookCursor | None:
        return self.committed().webhook_cursors.get(conference_sid)

    async def call_sequences(self, conference_sid: str) -> dict[str, int]:
        calls = self.committed().call_sequences.items()
        return {call_sid: seq for call_sid, (sid, seq) in calls if sid == conference_sid}

    async def save_webhook_cursor(
        self, cursor: WebhookCursor, calls: dict[str, int], *, finished: bool = False
    ) -> None:
        async with self.write() as tx:
            t = tx.tables
            stored = t.webhook_cursors.get(cursor.conference_sid)
            if stored is None:
                t.webhook_cursors[cursor.conference_sid] = cursor
            elif (cursor.revision, cursor.step) >= (stored.revision, stored.step):
                # Never backwards; the account stays the one first saved (as in SQL).
                t.webhook_cursors[cursor.conference_sid] = dataclasses.replace(
                    cursor, account_sid=stored.account_sid
                )
            sequences = t.call_sequences
            if finished:
                for call_sid, (sid, _) in list(sequences.items()):
                    if sid == cursor.conference_sid:
                        del sequences[call_sid]
                return
            for call_sid, seq in calls.items():
                sid = sequences.get(call_sid, (cursor.conference_sid, 0))[0]
                sequences[call_sid] = (sid, seq)

    async def webhook_backlog(self) -> list[tuple[str, str]]:
        t = self.committed()
        done = {sid: cursor.revision for sid, cursor in t.webhook_cursors.items()}
        behind = [row for row in t.conferences.values() if row.revision > done.get(row.sid, 0)]
        return [(row.account_sid, row.sid) for row in sorted(behind, key=lambda row: row.order)]
