"""Decoded participant rows, remembered by their stored text.

Rule 1: a bounded map takes a participant row as stored (its seq and its JSON text)
        to the Participant decoded from it, so reads of rows that have not changed
        since (a List of a busy conference, a Fetch polled in a loop) skip the JSON
        decode and the model's construction.
Rule 2: the key is the row's whole content, so an entry can never be stale (a
        changed row is a different key) and needs no invalidation.
Rule 3: only read paths use it, and what they return is shared between callers, so
        it is read-only (write transactions decode their own copies, which they
        change).
Rule 4: oldest entries go first once `limit` is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.core.records import Participant

DEFAULT_LIMIT = 4096


class RowCache:
    def __init__(self, decode: Callable[[Any], Participant], limit: int = DEFAULT_LIMIT) -> None:
        self._decode = decode
        self._limit = limit
        self._entries: dict[tuple[int, str], Participant] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def participant(self, row: Any) -> Participant:
        """`row` is (seq, data text) as selected from the participants table."""
        key = (row[0], row[1])
        found = self._entries.get(key)
        if found is None:
            found = self._decode(row)
            if len(self._entries) >= self._limit:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = found
        return found
