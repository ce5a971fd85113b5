"""What a replica's account watches share: recent announcements, discovering new conferences.

Rule 1: a conference an account watch does not know yet (one the account created)
        is found by a Store.floor read of the arrivals at or past the lowest
        horizon of the account's streams, one read at a time per account. A read
        is asked for by a commit or a notification of a conference the account's
        streams have not seen, by a stream whose horizon the last read did not
        cover, and every poll interval, so a lost notification delays a new
        conference, never loses it.
Rule 2: each read's result goes to every stream registered when it began;
        each stream takes what is new to it (rpc.watch_account).
Rule 3: Recent remembers, for every conference, the newest revision announced
        on this replica (local commits and other replicas' notifications),
        numbered by generation: a stream that starts following a conference
        after reading it learns what was announced meanwhile. Its memory is
        bounded; a stream that needs what it forgot reads the store instead.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from typing import Protocol

from service.clock import Clock, Timer
from service.core.ports.store import Floor, Store

log = logging.getLogger("rollcall.watch")

_REMEMBERED = 16384


class Recent:
    """The newest announced revision of each conference, by generation (Rule 3)."""

    def __init__(self, size: int = _REMEMBERED) -> None:
        self.generation = 0
        self._size = size
        self._heads: collections.OrderedDict[str, tuple[int, int]] = collections.OrderedDict()
        self._forgotten = 0  # the newest generation no longer remembered

    def note(self, conference_sid: str, revision: int) -> None:
        self.generation += 1
        old = self._heads.pop(conference_sid, None)
        newest = revision if old is None else max(revision, old[1])
        self._heads[conference_sid] = (self.generation, newest)
        if len(self._heads) > self._size:
            _, (generation, _) = self._heads.popitem(last=False)
            self._forgotten = generation

    def since(self, generation: int) -> dict[str, int] | None:
        """Conferences announced after `generation`, with their newest revision;
        None when some of that was forgotten."""
        if self._forgotten > generation:
            return None
        found: dict[str, int] = {}
        for sid, (noted, revision) in reversed(self._heads.items()):
            if noted <= generation:
                break
            found[sid] = revision
        return found


@dataclasses.dataclass(frozen=True)
class Discovery:
    """One arrivals read: its result, the horizon it covers from (every
    arrival at or past `since` is in it) and the Recent generation it began at."""

    floor: Floor
    since: int
    generation: int


class Follower(Protocol):
    """What the account's discovery needs of a stream."""

    def horizon(self) -> int | None:
        """The stream's arrival horizon (None: it has not read yet)."""

    def discovered(self, found: Discovery) -> None:
        """Take a read's result (plain call: queue it and return)."""


class _Bounded:
    """An insertion-ordered set that forgets its oldest members."""

    def __init__(self, size: int = _REMEMBERED) -> None:
        self._items: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._size = size

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def add(self, item: str) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def discard(self, item: str) -> None:
        self._items.pop(item, None)


class AccountFeed:
    """One account's discovery of conferences, shared by its streams (Rule 1)."""

    def __init__(
        self,
        account_sid: str,
        store: Store,
        clock: Clock,
        recent: Recent,
        *,
        poll_seconds: float,
        limit: int,
    ) -> None:
        self.account_sid = account_sid
        self.store = store
        self.clock = clock
        self.recent = recent
        self.poll_seconds = poll_seconds
        self.limit = limit
        self.streams: set[Follower] = set()
        self.known = _Bounded()
        self.foreign = _Bounded()
        self._asked: set[str] = set()
        self._again = False
        self._task: asyncio.Task[None] | None = None
        self._timer: Timer | None = None

    def join(self, stream: Follower) -> None:
        self.streams.add(stream)
        if self._timer is None and self.poll_seconds > 0:
            self._timer = self.clock.call_later(self.poll_seconds, self._poll)

    def leave(self, stream: Follower) -> None:
        self.streams.discard(stream)
        if not self.streams:
            self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def learn(self, conference_sids: list[str]) -> None:
        """Conferences a stream has read: no need to look for them again."""
        for sid in conference_sids:
            self.known.add(sid)
            self.foreign.discard(sid)

    def news(self, conference_sid: str) -> None:
        """A conference committed: look for it unless it is known (Rule 1)."""
        if conference_sid in self.known or conference_sid in self.foreign:
            return
        self._asked.add(conference_sid)
        self.want()

    def want(self) -> None:
        """Read the arrivals again (after the read in flight, if any)."""
        if self._task is not None:
            self._again = True
        elif self.streams:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _poll(self) -> None:
        self._timer = None
        if self.streams:
            self.want()
            self._timer = self.clock.call_later(self.poll_seconds, self._poll)

    async def _run(self) -> None:
        try:
            while True:
                self._again = False
                asked, self._asked = self._asked, set()
                streams = list(self.streams)
                horizons = [h for h in (s.horizon() for s in streams) if h is not None]
                since = min(horizons) if horizons else None
                generation = self.recent.generation
                floor = await self.store.floor(
                    self.account_sid, live=False, since=since, limit=self.limit
                )
                found = [f.conference.sid for f in floor.conferences]
                self.learn(found)
                if since is not None:
                    for sid in asked.difference(found):
                        self.foreign.add(sid)
                result = Discovery(floor, floor.horizon if since is None else since, generation)
                for stream in streams:
                    if stream in self.streams:
                        stream.discovered(result)
                if not self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            # The next commit, stream or poll asks again.
            log.warning("could not read an account's new conferences", exc_info=True)
        finally:
            self._task = None
