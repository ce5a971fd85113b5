"""One conference's watch feed: its newest revision, recent events and idle streams.

Rule 1: the recent events are contiguous in revision order; an event that does
        not follow the newest clears them, so a gap is read from the store.
Rule 2: each cached event is serialized once and sent as is by every stream
        (a Prebuilt, service.renders).
Rule 3: a publish or an announce that raises the revision wakes every idle
        stream of the conference; the streams read what they lack themselves.
Rule 4: account watches that follow the conference are trackers: each wake
        tells them which conference moved (they follow many feeds at once and
        wait on none of them).
Rule 5: a redaction event clears them first: the events before it may hold
        what it redacted, so they are read from the store again.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
from typing import Protocol

from rollcall.v1 import participant_service_pb2 as pb
from service.core.events import Event, EventType
from service.renders import Prebuilt
from service.rpc import messages

_CACHE = 2048


class Tracker(Protocol):
    def moved(self, feed: Feed) -> None:
        """The feed's conference has news (Rule 4)."""


@dataclasses.dataclass
class Cached:
    revision: int
    event: Event
    message: Prebuilt[pb.WatchConferenceResponse]


class Feed:
    """One conference's newest revision, recent events and sleeping watchers."""

    def __init__(self, sid: str = "") -> None:
        self.sid = sid
        self.revision = 0
        self.recent: collections.deque[Cached] = collections.deque(maxlen=_CACHE)
        # One future per idle stream, resolved True by the next publish.
        self.waiters: set[asyncio.Future[bool]] = set()
        self.watchers = 0
        self.trackers: set[Tracker] = set()

    def wake(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(True)
        self.waiters.clear()
        for tracker in self.trackers:
            tracker.moved(self)

    def publish(self, event: Event) -> None:
        message = Prebuilt(
            pb.WatchConferenceResponse,
            pb.WatchConferenceResponse(event=messages.event(event)).SerializeToString(),
        )
        cached = Cached(event.revision, event, message)
        if event.type is EventType.PARTICIPANT_REDACTED:
            # Older cached events may hold what was redacted: read the log.
            self.recent.clear()
        if self.recent and event.revision != self.recent[-1].revision + 1:
            self.recent.clear()  # out of order: keep the cache contiguous
        self.recent.append(cached)
        if event.revision > self.revision:
            self.revision = event.revision
        self.wake()

    def announce(self, revision: int) -> None:
        """The conference is known to have reached revision (another replica's
        commit, heard or read): wake watchers to read it. A read that raises
        the revision must announce it, never set it: the notification that
        follows is then no news, and a stream asleep on the feed would never
        be woken for it."""
        if revision > self.revision:
            self.revision = revision
            self.wake()

    def after(self, cursor: int) -> list[Cached] | None:
        """Cached events after cursor, if the cache holds cursor+1 onwards."""
        if not self.recent or self.recent[0].revision > cursor + 1:
            return None
        if self.recent[-1].revision <= cursor:
            # Announced by another replica and not cached here: read the log.
            return [] if self.recent[-1].revision >= self.revision else None
        start = cursor + 1 - self.recent[0].revision
        return list(itertools.islice(self.recent, start, None))
