"""The change feed across replicas on one PostgreSQL database.

Rule 1: this process's commits reach subscribers at once through `publish`,
        as in one process (core.feed.LocalFeed).
Rule 2: other replicas' commits are heard through LISTEN/NOTIFY and, after
        every (re)connect and on a slow poll, by re-reading the revisions of
        what the subscribers watch (see notify.Listener).
Rule 3: a replica hears its own NOTIFYs too: a revision at or below the newest
        this process published for the conference is not passed on, so no
        subscriber looks again at its own commit.
Rule 4: that memory is bounded (the conferences published most recently); a
        forgotten one costs a redundant look, never a lost event.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.core.events import Event
from service.core.feed import LocalFeed
from service.core.ports.feed import FeedSubscriber
from service.store.postgres.notify import Listener
from service.store.postgres.store import PostgresStore

_REMEMBERED = 10_000


class PgFeed:
    def __init__(self, store: PostgresStore, *, poll_seconds: float) -> None:
        self._local = LocalFeed()
        # Newest revision published here per conference, least recent first.
        self._published: dict[str, int] = {}
        self.listener = Listener(
            store.options.dsn,
            store.options.connect_kwargs(),
            self.heard,
            self._local.watching,
            store.revisions,
            poll_seconds=poll_seconds,
            name=f"rollcall-listener {store.replica_id}",
        )

    def subscribe(self, subscriber: FeedSubscriber) -> None:
        self._local.subscribe(subscriber)

    def publish(self, events: Sequence[Event]) -> None:
        published = self._published
        for event in events:
            published.pop(event.conference_sid, None)
            published[event.conference_sid] = event.revision
        while len(published) > _REMEMBERED:
            del published[next(iter(published))]
        self._local.publish(events)

    def heard(self, conference_sid: str, revision: int) -> None:
        """A commit announced through the database (any replica's, this one's too)."""
        if revision > self._published.get(conference_sid, 0):
            self._local.heard(conference_sid, revision)

    async def start(self) -> None:
        self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()
