"""Reads remembered until the next commit.

Rule 1: a bounded map takes a read as asked to what the read connections found for
        it: a participant lookup (account, conference by SID or friendly name, call
        SID or label, whether ended ones count), a conference lookup, a page of a
        list (conference, filter, size, cursors); so a Fetch or a List polled in a
        loop skips its queries while nothing is written.
Rule 2: it is only correct where this process is the only writer of the database
        (the SQLite store: one writer connection, one process).
Rule 3: it is emptied each time a write transaction ends (committed or not), before
        any writer of that transaction is answered, so a read that follows an
        acknowledged write never sees the state before it.
Rule 4: a lookup that raced a commit (its generation changed while it ran) is not
        remembered.
Rule 5: only lookups that found a participant are kept (a miss is rare and the
        conference check after it reads anyway).
Rule 6: what it returns is shared between callers, so it is read-only, as the row
        cache's entries are (service.store.row_cache).
Rule 7: oldest entries go first once `limit` is reached.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

DEFAULT_LIMIT = 4096

Key = TypeVar("Key", bound=Hashable)
Found = TypeVar("Found")


class LookupCache(Generic[Key, Found]):
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._entries: dict[Key, Found] = {}
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> Found | None:
        return self._entries.get(key)

    def put(self, key: Key, found: Found, generation: int) -> None:
        """Remember `found`, read when the cache was at `generation`."""
        if generation != self.generation:
            return
        if len(self._entries) >= self._limit:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = found

    def forget_all(self) -> None:
        """A write transaction ended: nothing remembered may be current."""
        self.generation += 1
        self._entries.clear()
