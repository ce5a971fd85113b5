"""WatchConference: an ordered, gap-free, resumable stream over the event log.

Rule 1: the event table is the truth; the hub follows the change feed only to
        wake watchers and cache recent events (see rpc.watch_feed).
Rule 2: each stream keeps its own cursor and sends every event after it once,
        in revision order, from the cache when it holds the next revisions
        contiguously and from the store otherwise.
Rule 3: a slow watcher lags on its own cursor, never blocking writers or other
        watchers; its memory is one bounded batch.
Rule 4: a progress marker carries the cursor: no event at or below its
        revision can follow it.
Rule 5: open streams are counted (service.rpc.metrics).
Rule 6: a stream that has sent nothing for the progress interval sends a
        marker, also while busy passing nothing through its filters; the
        interval is announced in each stream's initial metadata
        (PROGRESS_INTERVAL_KEY, in milliseconds), so a client can tell a quiet
        stream from a dead one (the timer: rpc.watch_beat; the filters:
        rpc.watch_filter).
Rule 7: the account watches (rpc.watch_account) share the hub's feeds, its
        count of an account's watchers, and every commit it hears.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from rollcall.v1 import participant_service_pb2 as pb
from service.clock import Clock
from service.core import errors
from service.core.commands import ConferenceRef
from service.core.events import Event, EventType
from service.core.participants import Participants
from service.core.ports.store import ParticipantFilter, Store
from service.renders import Prebuilt
from service.rpc import messages, metrics
from service.rpc.watch_beat import Beat
from service.rpc.watch_feed import Feed
from service.rpc.watch_fill import FeedFiller
from service.rpc.watch_filter import WatchFilter, check_types

log = logging.getLogger("rollcall.watch")

RESUME_ELSEWHERE = "this server is shutting down; resume from your last revision"
# Initial metadata of every stream: the progress interval, in milliseconds.
PROGRESS_INTERVAL_KEY = "rollcall-progress-interval-ms"
_BATCH = 500


class AccountHooks(Protocol):
    """What the hub tells the account watches (Rule 7)."""

    def committed(self, events: Sequence[Event]) -> None: ...

    def heard(self, conference_sid: str, revision: int) -> None: ...

    def close(self) -> None: ...


class WatchHub:
    def __init__(
        self,
        store: Store,
        participants: Participants,
        clock: Clock,
        *,
        progress_seconds: float,
        per_account: int,
    ) -> None:
        self.store = store
        self.participants = participants
        self.clock = clock
        self.progress_seconds = progress_seconds
        self.per_account = per_account
        self.feeds: dict[str, Feed] = {}
        self._per_account: collections.Counter[str] = collections.Counter()
        # Streams waiting for news, with the cursor each has reached.
        self._waiting: dict[int, tuple[Feed, int]] = {}
        # Set at the next change of _waiting; made only while wait_idle waits.
        self._waiting_changed: asyncio.Event | None = None
        self._closing = asyncio.Event()
        self._filler = FeedFiller(store)
        # The account watches, once made (Rule 7).
        self.accounts: AccountHooks | None = None

    def announcement(self) -> tuple[tuple[str, str], ...]:
        """Initial metadata for a stream: how often a quiet stream gets a marker."""
        return ((PROGRESS_INTERVAL_KEY, str(max(1, round(self.progress_seconds * 1000)))),)

    def close(self) -> None:
        """End every stream with UNAVAILABLE so clients resume on another server."""
        self._closing.set()
        self._filler.close()
        if self.accounts is not None:
            self.accounts.close()
        for feed in self.feeds.values():
            feed.wake()

    def caught_up(self) -> int:
        """How many streams have sent everything committed and wait for news."""
        return sum(1 for feed, cursor in self._waiting.values() if cursor >= feed.revision)

    async def wait_idle(self, watchers: int) -> None:
        """Until at least `watchers` streams are caught up and idle (tests, benchmarks)."""
        while self.caught_up() < watchers:
            if self._waiting_changed is None:
                self._waiting_changed = asyncio.Event()
            await self._waiting_changed.wait()

    def _note_idle(self, key: int, entry: tuple[Feed, int] | None) -> None:
        if entry is None:
            self._waiting.pop(key, None)
        else:
            self._waiting[key] = entry
        changed, self._waiting_changed = self._waiting_changed, None
        if changed is not None:
            changed.set()

    # -- the change feed's subscriber ------------------------------------------

    def committed(self, events: Sequence[Event]) -> None:
        """This process's change: its events go into their conference's feed."""
        for event in events:
            feed = self.feeds.get(event.conference_sid)
            if feed is not None:
                feed.publish(event)
        if self.accounts is not None:
            self.accounts.committed(events)

    def heard(self, conference_sid: str, revision: int) -> None:
        """A change committed elsewhere (another replica) reached this revision."""
        feed = self.feeds.get(conference_sid)
        if feed is not None:
            self._filler.announce(conference_sid, feed, revision)
        if self.accounts is not None:
            self.accounts.heard(conference_sid, revision)

    def admit(self, account: str) -> None:
        """Count one more stream of the account: WATCHER_LIMIT beyond the limit."""
        if self._per_account[account] >= self.per_account:
            raise errors.watcher_limit(self.per_account)
        self._per_account[account] += 1

    def release(self, account: str) -> None:
        self._per_account[account] -= 1
        if self._per_account[account] <= 0:
            del self._per_account[account]

    def watching(self) -> list[str]:
        """The conferences someone watches here."""
        return list(self.feeds)

    async def _idle(self, feed: Feed, cursor: int, beat: Beat) -> bool:
        """Wait for a change (True) or for the progress interval to pass (False).

        One future per wait, resolved by the feed's next publish, by the
        stream's progress timer (see Beat) or by close(): no tasks.
        """
        if self._closing.is_set():
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        feed.waiters.add(waiter)
        beat.idle(waiter)
        key = id(waiter)
        self._note_idle(key, (feed, cursor))
        try:
            return await waiter
        finally:
            self._note_idle(key, None)
            beat.waiter = None
            feed.waiters.discard(waiter)

    async def watch(
        self, ref: ConferenceRef, request: pb.WatchConferenceRequest
    ) -> AsyncIterator[pb.WatchConferenceResponse | Prebuilt[pb.WatchConferenceResponse]]:
        """The stream for the caller's conference `ref`: ParticipantApi has
        authenticated, rate-limited and checked tenancy, as for every RPC.
        Yields messages, or one already serialized (a Prebuilt, service.renders)."""
        account = ref.account_sid
        check_types(request.event_types)
        if self._closing.is_set():
            raise errors.shutting_down(RESUME_ELSEWHERE)
        conference = await self.participants.conference(ref)
        self.admit(account)
        metrics.WATCHERS.inc()
        feed = self.feeds.get(conference.sid)
        if feed is None:
            feed = self.feeds[conference.sid] = Feed(conference.sid)
        feed.watchers += 1
        beat = Beat(self.clock, self.progress_seconds)
        conference_sid = conference.sid
        # The stream's body is here, not in a generator of its own: one hop less
        # per event and watcher.
        try:
            flt = WatchFilter(request)
            if request.HasField("resume_after_revision"):
                cursor = request.resume_after_revision
                conference = await self.participants.conference(ref)
                current = conference.revision
                if cursor > current or cursor < 0:
                    raise errors.revision_from_future(cursor, current)
                oldest = await self.store.oldest_revision(conference_sid)
                if cursor < current and (oldest is None or cursor < oldest - 1):
                    raise errors.revision_compacted(cursor, oldest, current)
                feed.announce(current)  # wakes the feed's other streams: see Feed.announce
                ended = not conference.active
                if ended and cursor >= current:
                    return
            else:
                page = await self.store.list_participants(
                    conference_sid, ParticipantFilter(), page_size=1000
                )
                for p in page.participants:
                    if flt.shows(p):
                        yield pb.WatchConferenceResponse(
                            initial_participant=messages.participant(p)
                        )
                cursor = page.revision
                conference = await self.participants.conference(ref)
                feed.announce(cursor)  # as above
                yield pb.WatchConferenceResponse(
                    initial_state_complete=pb.InitialStateComplete(
                        revision=cursor, conference=messages.conference(conference)
                    )
                )
                ended = not conference.active
                if ended and conference.revision <= cursor:
                    return
            while True:
                if self._closing.is_set():
                    raise errors.shutting_down(RESUME_ELSEWHERE)
                if feed.revision > cursor:
                    cached = feed.after(cursor)
                    batch: list[tuple[Event, Prebuilt[pb.WatchConferenceResponse] | None]]
                    if cached is None:
                        batch = [
                            (e, None)
                            for e in await self.store.events(conference_sid, cursor, _BATCH)
                        ]
                    else:
                        batch = [(c.event, c.message) for c in cached]
                    if not batch:
                        # Announced but not visible to this reader yet: wait for more.
                        if not await self._idle(feed, cursor, beat):
                            beat.spoke = True
                            yield _progress(cursor)
                        continue
                    for event, message in batch:
                        if event.revision != cursor + 1:
                            # This stream fell behind the retained log (compaction
                            # ran while it read): it re-snapshots, like a resume.
                            oldest = await self.store.oldest_revision(conference_sid)
                            if oldest is not None and oldest > cursor + 1:
                                raise errors.revision_compacted(cursor, oldest, feed.revision)
                            raise errors.internal(
                                f"event log gap after revision {cursor} in {conference_sid}"
                            )
                        cursor = event.revision
                        if flt.wants(event):
                            beat.spoke = True
                            metrics.WATCH_LAG.observe(max(self.clock.now() - event.time, 0.0))
                            yield message or pb.WatchConferenceResponse(event=messages.event(event))
                        ended = ended or event.type is EventType.CONFERENCE_ENDED
                    if ended and cursor >= feed.revision:
                        # Over, and caught up with what followed its end (a
                        # redaction of an ended participant comes after it).
                        return
                    if beat.due():  # busy, but passing nothing on for an interval
                        beat.spoke = True
                        yield _progress(cursor)
                    continue
                if not await self._idle(feed, cursor, beat):
                    beat.spoke = True
                    yield _progress(cursor)
        finally:
            beat.stop()
            metrics.WATCHERS.dec()
            self.release(account)
            feed.watchers -= 1
            if feed.watchers == 0 and self.feeds.get(conference_sid) is feed:
                del self.feeds[conference_sid]

    async def compact(self, retention_seconds: float, keep: int, *, batch: int = 500) -> int:
        deleted = await self.store.compact(self.clock.now() - retention_seconds, keep, batch=batch)
        if deleted:
            log.info("compacted events", extra={"deleted": deleted})
        return deleted


def _progress(cursor: int) -> pb.WatchConferenceResponse:
    return pb.WatchConferenceResponse(progress=pb.ProgressMarker(revision=cursor))
