"""Every adapter of the store port, opened the same way, and the rows the
store tests write.

Rule 1: a Backend is one adapter on one database per test (memory: one
        MemoryDatabase; sqlite: one file in tmp_path; postgres: one database
        of the session's throwaway server, tests/pg.py); each `open` is a new
        store on that same database, so reopening sees what was committed.
Rule 2: `owner` names the process a store stands for where the adapter has
        that notion (memory: its owner; postgres: its replica id); SQLite is
        one process per file and takes none.
Rule 3: the rows built here are the smallest valid ones, in account AC.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from service.core.events import Event, EventType
from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.core.ports.store import Store
from service.core.records import Conference, Participant, new_sid
from service.core.statuses import CallStatus, ConferenceStatus, ParticipantStatus
from service.store.memory.dead_letters import MemoryDeadLetters
from service.store.memory.store import MemoryStore
from service.store.memory.tables import MemoryDatabase
from service.store.postgres.dead_letters import PgDeadLetters
from service.store.postgres.schema import PgOptions
from service.store.postgres.store import PostgresStore
from service.store.sqlite.dead_letters import DeadLetters
from service.store.sqlite.store import SqliteStore
from tests import pg

KINDS = ("memory", "sqlite", "postgres")
AC = "AC" + "a" * 32
OTHER = "AC" + "b" * 32


@dataclasses.dataclass
class Backend:
    kind: str
    tmp_path: Path
    memory: MemoryDatabase = dataclasses.field(default_factory=MemoryDatabase)

    def new(self, owner: str = "") -> Store:
        """A store on this backend's database, not opened yet."""
        if self.kind == "memory":
            return MemoryStore(self.memory, owner or "memory")
        if self.kind == "sqlite":
            assert not owner, "SQLite: one process per database file"
            return SqliteStore(str(self.tmp_path / "contract.sqlite3"))
        assert self.kind == "postgres", self.kind
        options = PgOptions(pg.database_for(str(self.tmp_path)), pool_size=4)
        return PostgresStore(options, replica_id=owner)

    @contextlib.asynccontextmanager
    async def open(self, owner: str = "") -> AsyncIterator[Store]:
        store = self.new(owner)
        await store.open()
        try:
            yield store
        finally:
            await store.close()

    def dead_letters(self, store: Store) -> DeadLetterStore:
        if isinstance(store, MemoryStore):
            return MemoryDeadLetters(store)
        if isinstance(store, PostgresStore):
            return PgDeadLetters(store)
        assert isinstance(store, SqliteStore)
        return DeadLetters(store)


def conference(name: str = "room", **fields: Any) -> Conference:
    values: dict[str, Any] = {
        "sid": new_sid("CF"),
        "account_sid": AC,
        "friendly_name": name,
        "status": ConferenceStatus.INIT,
        "revision": 0,
        "max_participants": 250,
        "date_created": 1.0,
        "date_updated": 1.0,
    }
    values.update(fields)
    return Conference(**values)


def participant(conf: Conference, label: str | None = None, **fields: Any) -> Participant:
    return Participant(
        call_sid=new_sid("CA"),
        account_sid=AC,
        conference_sid=conf.sid,
        conference_friendly_name=conf.friendly_name,
        label=label,
        status=ParticipantStatus.QUEUED,
        call_status=CallStatus.QUEUED,
        from_endpoint="+15005550006",
        to_endpoint="+15551234567",
        date_created=1.0,
        date_updated=1.0,
        revision=0,
        **fields,
    )


async def add(store: Store, conf: Conference, p: Participant) -> Participant:
    """One change: the participant, the conference's next revision and its event."""
    async with store.write() as tx:
        conf.revision += 1
        p.revision = conf.revision
        await tx.insert_participant(p)
        await tx.append_events(
            [Event(conf.sid, AC, conf.revision, 1.0, EventType.CALL_STATUS_CHANGED, conf, p)]
        )
        await tx.update_conference(conf)
    return p


def letter(account_sid: str, conference_sid: str, revision: int) -> DeadLetter:
    """A participant callback given up after three attempts."""
    return DeadLetter(
        account_sid=account_sid,
        conference_sid=conference_sid,
        revision=revision,
        kind="participant",
        call_sid=None,
        callback_event="join",
        method="POST",
        url="https://example.com/cb",
        params={"StatusCallbackEvent": "participant-join", "Sequence": str(revision)},
        token="tok",
        attempts=3,
        last_outcome="http 500",
        given_up_at=12.5,
    )
