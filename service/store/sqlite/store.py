"""The SQLite store (aiosqlite, WAL), the embedded default: its connections and reads.

Rule 1: one writer connection, its transactions grouped into commits
        (service.store.sqlite.writes, the base of SqliteStore), so revisions
        commit in order.
Rule 2: synchronous=FULL, so a committed change survives a crash of the process or
        the machine.
Rule 3: readers use their own connections and see only committed data.
Rule 4: schema changes are numbered migrations applied at open.
Rule 5: the queries and row writes inside a change (and every read) run inline on
        the event loop, on a connection checked out to that caller alone (see
        service.store.sqlite.inline): they touch only SQLite's page cache and take
        microseconds, so a thread hop would cost more than the statement. So does
        BEGIN IMMEDIATE when the write lock is free (it is, unless another process
        writes the file).
Rule 6: what can wait on the disk or on another connection's lock runs on the
        connection's own thread: COMMIT (the fsync), a BEGIN IMMEDIATE that must
        wait for the lock, migrations and maintenance.
Rule 7: this module keeps only the connections and the reads; the rest lives
        beside it by concern, in service.store.sqlite: writes (the write path and
        group commit), connections (opening them, statements that must finish),
        rows (participants, conferences, events, request ids), conferences and
        service.store.participant_pages (lists), cursors (status callback cursors),
        carrier (carrier calls and callbacks), retention (compaction and retention,
        in batches), migrations (the schema).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection

import aiosqlite
import orjson

from service.core.events import Event
from service.core.ports.store import (
    ConferenceFilter,
    ConferencePage,
    Floor,
    Page,
    ParticipantFilter,
    WebhookCursor,
)
from service.core.records import Conference, Participant
from service.store import participant_pages
from service.store.row_cache import RowCache
from service.store.rows import PARTICIPANT_COLUMNS, participant_from_row
from service.store.sqlite import conferences as sqlite_conferences
from service.store.sqlite import cursors as sqlite_cursors
from service.store.sqlite import retention as sqlite_retention
from service.store.sqlite.audit import SqlitePrivacyReads
from service.store.sqlite.checkpoints import Checkpoints, writer_off
from service.store.sqlite.connections import connect
from service.store.sqlite.lookup_cache import LookupCache
from service.store.sqlite.migrations import migrate
from service.store.sqlite.rows import SqliteReads
from service.store.sqlite.writes import SqliteWrites

_READERS = 4


class SqliteStore(SqliteWrites, SqlitePrivacyReads):
    def __init__(self, path: str) -> None:
        self.path = path
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._rows = RowCache(participant_from_row)
        # This process is the database's only writer, so a lookup stays true
        # until the next COMMIT (see lookup_cache).
        self._found: LookupCache[tuple[str, str, bool, str, bool], Participant] = LookupCache()
        self._conferences: LookupCache[tuple[str, str, bool], Conference] = LookupCache()
        self._pages: LookupCache[tuple[object, ...], Page] = LookupCache(limit=256)
        # WAL checkpoints beside the writer, never inside a COMMIT (see checkpoints).
        super().__init__(Checkpoints(path), (self._found, self._conferences, self._pages))

    async def open(self) -> None:
        self._writer = await connect(self.path)
        await migrate(self._writer)
        await writer_off(self._writer)
        await self.checkpoints.open()
        for _ in range(_READERS):
            conn = await connect(self.path)
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer
        await self.checkpoints.close()
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[SqliteReads]:
        conn = await self._readers.get()
        try:
            yield SqliteReads(conn, self._rows)
        finally:
            self._readers.put_nowait(conn)

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        lookup = (account_sid, conference_sid, True)
        found = self._conferences.get(lookup)
        if found is not None:
            return found
        async with self._read() as r:
            generation = self._conferences.generation
            found = await r.conference(account_sid, conference_sid)
        if found is not None:
            self._conferences.put(lookup, found, generation)
        return found

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None:
        lookup = (account_sid, friendly_name, False)
        found = self._conferences.get(lookup)
        if found is not None:
            return found
        async with self._read() as r:
            generation = self._conferences.generation
            found = await r.active_conference_named(account_sid, friendly_name)
        if found is not None:
            self._conferences.put(lookup, found, generation)
        return found

    async def participant(
        self, conference_sid: str, key: str, *, include_ended: bool
    ) -> Participant | None:
        async with self._read() as r:
            return await r.find_participant(conference_sid, key, include_ended)

    async def participant_in(
        self, account_sid: str, conference: str, by_sid: bool, key: str, *, include_ended: bool
    ) -> Participant | None:
        lookup = (account_sid, conference, by_sid, key, include_ended)
        found = self._found.get(lookup)
        if found is not None:
            return found
        async with self._read() as r:
            generation = self._found.generation
            found = await r.participant_in(account_sid, conference, by_sid, key, include_ended)
        if found is not None:
            self._found.put(lookup, found, generation)
        return found

    async def list_participants(
        self,
        conference_sid: str,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Page:
        lookup = (conference_sid, flt, page_size, after, before)
        found = self._pages.get(lookup)
        if found is None:
            async with self._read() as r:
                generation = self._pages.generation
                # Inline (see sqlite_inline): no cancellation point between BEGIN
                # and COMMIT, so the pooled connection is never left in a transaction.
                r.raw.execute("BEGIN")
                try:
                    found = await participant_pages.page(
                        participant_pages.SQLITE, r._all, r._one, self._rows.participant,
                        conference_sid, flt, page_size, after=after, before=before,
                    )  # fmt: skip
                finally:
                    r.raw.execute("COMMIT")
            self._pages.put(lookup, found, generation)
        # Shared: a page cannot be changed (its participants are a tuple of
        # read-only rows), so every caller gets the one remembered.
        return found

    async def list_conferences(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None = None,
        after: int | None = None,
    ) -> ConferencePage:
        async with self._read() as r:
            return await sqlite_conferences.list_conferences(
                r, account_sid, flt, page_size=page_size, before=before, after=after
            )

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
        async with self._read() as r:
            # One snapshot, inline: no cancellation point between BEGIN and COMMIT.
            r.raw.execute("BEGIN")
            try:
                return await sqlite_conferences.floor(
                    r, account_sid, live=live, ords=ords, since=since,
                    participants=participants, limit=limit,
                )  # fmt: skip
            finally:
                r.raw.execute("COMMIT")

    async def events(self, conference_sid: str, after_revision: int, limit: int) -> list[Event]:
        async with self._read() as r:
            rows = await r._all(
                "SELECT data FROM events WHERE conference_sid = ? AND revision > ?"
                " ORDER BY revision LIMIT ?",
                conference_sid,
                after_revision,
                limit,
            )
        return [Event.from_dict(orjson.loads(row[0])) for row in rows]

    async def oldest_revision(self, conference_sid: str) -> int | None:
        async with self._read() as r:
            row = await r._one(
                "SELECT MIN(revision) FROM events WHERE conference_sid = ?", conference_sid
            )
        return None if row is None or row[0] is None else int(row[0])

    async def compact(self, older_than: float, keep: int, *, batch: int = 500) -> int:
        return await sqlite_retention.compact(self, older_than, keep, batch)

    # -- retention (statements in sqlite_retention) -----------------------------

    async def expire_participants(self, ended_before: float, limit: int) -> int:
        return await sqlite_retention.expire_participants(self, ended_before, limit)

    async def expire_conferences(self, ended_before: float, limit: int) -> int:
        return await sqlite_retention.expire_conferences(self, ended_before, limit)

    async def expire_requests(self, recorded_before: float, limit: int) -> int:
        return await sqlite_retention.expire_requests(self, recorded_before, limit)

    async def expire_carrier_calls(self, ended_before: float, limit: int) -> int:
        return await sqlite_retention.expire_carrier_calls(self, ended_before, limit)

    async def expire_carrier_callbacks(self, received_before: float, limit: int) -> int:
        return await sqlite_retention.expire_carrier_callbacks(self, received_before, limit)

    async def active_participants_everywhere(self) -> list[Participant]:
        async with self._read() as r:
            rows = await r._all(
                f"SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE active = 1 ORDER BY seq"  # noqa: S608
            )
        return [participant_from_row(row) for row in rows]

    async def get_meta(self, key: str) -> str | None:
        async with self._read() as r:
            row = await r._one("SELECT value FROM meta WHERE key = ?", key)
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self.write() as tx:
            await tx.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def set_meta_once(self, key: str, value: str) -> str:
        async with self.write() as tx:
            await tx.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value = ''",
                (key, value),
            )
            async with tx.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
        assert row is not None
        return str(row[0])

    # -- status callback delivery (rows in sqlite_cursors) ---------------------

    async def webhook_cursor(self, conference_sid: str) -> WebhookCursor | None:
        async with self._read() as r:
            return await sqlite_cursors.webhook_cursor(r, conference_sid)

    async def call_sequences(self, conference_sid: str) -> dict[str, int]:
        async with self._read() as r:
            return await sqlite_cursors.call_sequences(r, conference_sid)

    async def save_webhook_cursor(
        self, cursor: WebhookCursor, calls: dict[str, int], *, finished: bool = False
    ) -> None:
        async with self.write() as tx:
            await sqlite_cursors.save_webhook_cursor(tx.conn, cursor, calls, finished=finished)

    async def webhook_backlog(self) -> list[tuple[str, str]]:
        async with self._read() as r:
            return await sqlite_cursors.webhook_backlog(r)
