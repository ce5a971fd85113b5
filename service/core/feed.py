"""The change feed of one process: its own commits, to its subscribers.

Rule 1: `publish` hands a change's events to every subscriber, in subscribe
        order, at once; commits are published in commit order by the core.
Rule 2: a subscriber that raises is logged and never stops the others.
Rule 3: `heard` forwards a commit known only by (conference, revision), as a
        feed that hears other replicas reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service.core.events import Event
from service.core.ports.feed import FeedSubscriber

log = logging.getLogger("rollcall.feed")


class LocalFeed:
    """The ChangeFeed of a single process (SQLite, the in-memory store)."""

    def __init__(self) -> None:
        self.subscribers: list[FeedSubscriber] = []

    def subscribe(self, subscriber: FeedSubscriber) -> None:
        self.subscribers.append(subscriber)

    def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        for subscriber in self.subscribers:
            try:
                subscriber.committed(events)
            except Exception:
                log.exception("a change feed subscriber failed")

    def heard(self, conference_sid: str, revision: int) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber.heard(conference_sid, revision)
            except Exception:
                log.exception("a change feed subscriber failed")

    def watching(self) -> set[str]:
        """Every conference some subscriber watches."""
        found: set[str] = set()
        for subscriber in self.subscribers:
            found.update(subscriber.watching())
        return found

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
