"""Changes committed by other replicas, read once per conference for all its watchers.

Rule 1: another replica's commit is known only as "this conference reached
        revision R"; its events are read from the event table once per
        conference (one task at a time), not once per watcher.
Rule 2: what is read is published into the conference's feed in revision
        order, so its watchers are served from the cache.
Rule 3: what cannot be published contiguously (a gap, compaction, an error)
        is left to the watchers: the feed's revision rises, they wake and each
        reads the table itself.
"""

from __future__ import annotations

import asyncio
import logging

from service.core.ports.store import Store
from service.rpc.watch_feed import Feed

log = logging.getLogger("rollcall.watch")

_BATCH = 500


def _head(feed: Feed) -> int:
    return feed.recent[-1].revision if feed.recent else feed.revision


class FeedFiller:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._wanted: dict[str, int] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def announce(self, conference_sid: str, feed: Feed, revision: int) -> None:
        if revision <= feed.revision:
            return
        self._wanted[conference_sid] = max(revision, self._wanted.get(conference_sid, 0))
        if conference_sid not in self._tasks:
            self._tasks[conference_sid] = asyncio.get_running_loop().create_task(
                self._fill(conference_sid, feed)
            )

    async def _fill(self, conference_sid: str, feed: Feed) -> None:
        try:
            while self._wanted.get(conference_sid, 0) > _head(feed):
                events = await self.store.events(conference_sid, _head(feed), _BATCH)
                published = False
                for event in events:
                    if event.revision == _head(feed) + 1:
                        feed.publish(event)
                        published = True
                    elif event.revision > _head(feed) + 1:
                        break
                if not published:
                    break
        except Exception:
            log.warning("could not read another replica's changes", exc_info=True)
        finally:
            self._tasks.pop(conference_sid, None)
            feed.announce(self._wanted.pop(conference_sid, 0))

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
