"""The SQLite store: one process, one database file.

Rule 1: `open_sqlite` gives the guarded store (see guard), its dead-letter
        table, an in-process change feed and the guard as the health probe
        (the file's identity and a read through it).
Rule 2: one process owns the file, so there are no leases and no other
        replicas to hear.
"""

from __future__ import annotations

from service.config import Settings
from service.core.feed import LocalFeed
from service.store.parts import StoreParts
from service.store.sqlite.dead_letters import DeadLetters
from service.store.sqlite.guard import GuardedSqliteStore


def open_sqlite(settings: Settings) -> StoreParts:
    store = GuardedSqliteStore(settings.database)
    return StoreParts(store, DeadLetters(store), LocalFeed(), leases=None, health=store)
