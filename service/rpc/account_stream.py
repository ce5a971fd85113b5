"""One WatchAccount stream: see rpc.watch_account for its rules; this module
keeps them for one stream (its reads, its position, the conferences it
follows).

Rule 1: a conference is followed through its watch feed: attached before its
        events are read, so nothing announced after the read is missed, and
        what was announced between the read and the attachment comes from
        rpc.account_feed.Recent (or the store, when Recent forgot).
Rule 2: the position changes before the item that carries it is built: an
        event's cursor already counts that event (and, for a conference-end,
        no longer follows the conference).
Rule 3: a revision learnt from a read raises the feed's revision as an
        announcement does, waking everyone who follows the conference; and a
        stream whose wait ends with nothing to send looks at every feed it
        follows once, so no missed wake leaves it behind for longer than a
        progress interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import IDLE, AccountEvent, AccountItem
from service.core import attributes, errors
from service.core.model import Event, EventType, Participant
from service.core.ports.store import FloorConference
from service.renders import Prebuilt
from service.rpc import messages, metrics
from service.rpc.account_cursor import CursorSeal, Position, fingerprint, varint
from service.rpc.account_feed import AccountFeed, Discovery, Recent
from service.rpc.watch import RESUME_ELSEWHERE, Beat, WatchHub, wants_type
from service.rpc.watch_feed import Feed

_BATCH = 500
# The snapshot's store read may hold this many times the limit (conferences
# that the friendly-name prefix then leaves out).
READ_FACTOR = 4
_CURSOR_TAG = b"\x2a"  # WatchAccountResponse.cursor: field 5, length-delimited


class AccountWatch(Protocol):
    """What a stream uses of rpc.watch_account.AccountWatch."""

    hub: WatchHub
    seal: CursorSeal
    limit: int
    poll_seconds: float
    recent: Recent
    feeds: dict[str, AccountFeed]
    streams: set[AccountStream]
    closing: bool

    def note_idle(self) -> None: ...


class _Track:
    """One conference a stream follows."""

    __slots__ = ("feed", "force", "mark", "ord", "revision", "sid")

    def __init__(self, found: FloorConference, feed: Feed, revision: int) -> None:
        self.sid = found.conference.sid
        self.ord = found.ord
        self.mark = found.mark
        self.feed = feed
        self.revision = revision
        # Read the store once, whatever the feed says (see _caught_up).
        self.force = False


class AccountStream:
    def __init__(
        self,
        watch: AccountWatch,
        account_sid: str,
        request: pb.WatchAccountRequest,
        *,
        parts: bool = False,
    ) -> None:
        """`parts`: events as AccountEvents, and IDLE before each wait
        (service.account_events), for the in-process SSE face."""
        self.watch = watch
        self.parts = parts
        self.hub = watch.hub
        self.account_sid = account_sid
        self.request = request
        self.prefix = request.friendly_name_prefix
        self.types = set(request.event_types)
        self.labels = set(request.participant_labels)
        self.attributes = attributes.parse_filter(request.attributes)
        self.filters = fingerprint(self.prefix, self.types, self.labels, self.attributes)
        self.position: Position | None = None
        self.tracks: dict[str, _Track] = {}
        # Conferences with news, in turn order (a dict as an ordered set).
        self.dirty: dict[str, None] = {}
        self.stalled: set[str] = set()
        self.inbox: list[Discovery] = []
        self.waiter: asyncio.Future[bool] | None = None
        self.idle = False
        self.discovery: AccountFeed | None = None

    # -- what feeds call (plain calls) -----------------------------------------

    def horizon(self) -> int | None:
        return None if self.position is None else self.position.horizon

    def discovered(self, found: Discovery) -> None:
        self.inbox.append(found)
        self.wake()

    def moved(self, feed: Feed) -> None:
        track = self.tracks.get(feed.sid)
        if track is not None and feed.revision > track.revision:
            self.dirty[feed.sid] = None
            self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    # -- following conferences -------------------------------------------------

    def _wants_conference(self, found: FloorConference) -> bool:
        return found.conference.friendly_name.startswith(self.prefix)

    def _wants(self, event: Event) -> bool:
        if not wants_type(self.types, messages.EVENT_TYPES[event.type]):
            return False
        p = event.participant
        return p is None or self._shows(p)

    def _shows(self, p: Participant) -> bool:
        if self.attributes and not attributes.matches(p.attributes, self.attributes):
            return False
        return not self.labels or (p.label or "") in self.labels

    def _follow(self, found: FloorConference, revision: int) -> None:
        assert self.position is not None
        sid = found.conference.sid
        feed = self.hub.feeds.get(sid)
        if feed is None:
            feed = self.hub.feeds[sid] = Feed(sid)
        feed.watchers += 1
        feed.trackers.add(self)
        # Rule 3: a revision read here may be ahead of what the feed was told
        # (another replica's commit whose notification is still on its way):
        # every stream and tracker of the feed must hear of it now, as the
        # notification, once it comes, is no news to the feed.
        feed.announce(found.conference.revision)
        self.tracks[sid] = _Track(found, feed, revision)
        self.position.set(found.ord, revision)
        if feed.revision > revision:
            self.dirty[sid] = None
        if len(self.tracks) > self.watch.limit:
            raise errors.account_watch_too_large(self.watch.limit)

    def _unfollow(self, track: _Track) -> None:
        feed = track.feed
        feed.trackers.discard(self)
        feed.watchers -= 1
        if feed.watchers == 0 and self.hub.feeds.get(track.sid) is feed:
            del self.hub.feeds[track.sid]
        self.tracks.pop(track.sid, None)
        self.dirty.pop(track.sid, None)
        if self.position is not None:
            self.position.drop(track.ord)
            if track.mark >= self.position.horizon:
                self.position.seen.add(track.ord)

    def _caught_up(self, generation: int, followed: list[_Track]) -> None:
        """What was announced of `followed` since their read (account_feed Rule 3)."""
        missed = self.watch.recent.since(generation)
        for track in followed:
            if missed is None:
                track.force = True
                self.dirty[track.sid] = None
            elif track.sid in missed:
                track.feed.announce(missed[track.sid])

    def _take(self, found: Discovery) -> list[_Track]:
        """A discovery read: follow what is new to this stream (Rule 3)."""
        position = self.position
        assert position is not None
        floor = found.floor
        if floor.truncated:
            raise errors.account_watch_too_large(self.watch.limit)
        followed = []
        for item in floor.conferences:
            if item.mark < position.horizon or item.ord in position.seen or item.ord in position.at:
                continue
            if self._wants_conference(item):
                self._follow(item, 0)
                followed.append(self.tracks[item.conference.sid])
            else:
                position.seen.add(item.ord)
        if found.since > position.horizon:
            # This read began below this stream's horizon: ask for one that covers it.
            assert self.discovery is not None
            self.discovery.want()
        elif floor.horizon > position.horizon:
            position.horizon = floor.horizon
            position.seen = {
                item.ord
                for item in floor.conferences
                if item.mark >= floor.horizon and item.ord not in position.at
            }
        return followed

    # -- items -----------------------------------------------------------------

    def _cursor(self) -> str:
        assert self.position is not None
        return self.watch.seal.seal(self.account_sid, self.position.encode())

    def _event(
        self, event: Event, message: Prebuilt[pb.WatchConferenceResponse] | None
    ) -> Prebuilt[pb.WatchAccountResponse] | AccountEvent:
        body = (
            message.wire
            if message is not None
            else pb.WatchConferenceResponse(event=messages.event(event)).SerializeToString()
        )
        if self.parts:
            return AccountEvent(body, self._cursor())
        cursor = self._cursor().encode()
        return Prebuilt(pb.WatchAccountResponse, body + _CURSOR_TAG + varint(len(cursor)) + cursor)

    def _progress(self) -> pb.WatchAccountResponse:
        return pb.WatchAccountResponse(progress=pb.AccountProgress(), cursor=self._cursor())

    async def _snapshot(self) -> AsyncIterator[pb.WatchAccountResponse]:
        generation = self.watch.recent.generation
        limit = self.watch.limit
        floor = await self.hub.store.floor(
            self.account_sid, live=True, participants=True, limit=limit * READ_FACTOR
        )
        if floor.truncated:
            raise errors.account_watch_too_large(limit)
        self.position = position = Position(self.filters, floor.horizon)
        assert self.discovery is not None
        self.discovery.learn([item.conference.sid for item in floor.conferences])
        followed = []
        for item in floor.conferences:
            conference = item.conference
            if not (conference.active and self._wants_conference(item)):
                if item.mark >= floor.horizon:
                    position.seen.add(item.ord)
                continue
            self._follow(item, conference.revision)
            followed.append(self.tracks[conference.sid])
            people = [messages.participant(p) for p in item.participants or () if self._shows(p)]
            yield pb.WatchAccountResponse(
                conference_snapshot=pb.ConferenceSnapshot(
                    conference=messages.conference(conference), participants=people
                )
            )
        self._caught_up(generation, followed)
        yield pb.WatchAccountResponse(
            snapshot_complete=pb.AccountSnapshotComplete(conferences=len(followed)),
            cursor=self._cursor(),
        )

    async def _resume(self) -> None:
        store = self.hub.store
        given = self.watch.seal.open(self.account_sid, self.request.cursor, self.filters)
        generation = self.watch.recent.generation
        floor = await store.floor(
            self.account_sid,
            live=False,
            ords=list(given.at),
            since=given.horizon,
            limit=self.watch.limit * READ_FACTOR,
        )
        if floor.truncated:
            raise errors.cursor_expired(
                "more conferences began after the cursor than a stream follows"
            )
        assert self.discovery is not None
        self.discovery.learn([item.conference.sid for item in floor.conferences])
        by_ord = {item.ord: item for item in floor.conferences}
        self.position = Position(self.filters, given.horizon, given.seen)
        followed = []
        for ord_, revision in given.at.items():
            item = by_ord.get(ord_)
            if item is None or revision > item.conference.revision:
                raise errors.cursor_invalid()
            await self._retained(item, revision)
            self._follow(item, revision)
            followed.append(self.tracks[item.conference.sid])
        for item in floor.conferences:
            new = item.ord not in given.seen and item.ord not in given.at
            if new and item.mark >= given.horizon and self._wants_conference(item):
                await self._retained(item, 0)
        followed.extend(self._take(Discovery(floor, given.horizon, generation)))
        self._caught_up(generation, followed)

    async def _retained(self, item: FloorConference, revision: int) -> None:
        """CURSOR_EXPIRED unless every event of `item` after `revision` is kept."""
        if revision >= item.conference.revision:
            return
        oldest = await self.hub.store.oldest_revision(item.conference.sid)
        if oldest is None or oldest > revision + 1:
            raise errors.cursor_expired(
                f"events of conference {item.conference.sid} after revision {revision}"
                " are no longer retained",
                item.conference.sid,
            )

    async def _advance(
        self, track: _Track
    ) -> AsyncIterator[Prebuilt[pb.WatchAccountResponse] | AccountEvent]:
        """The next batch of one conference's events (Rule 2)."""
        cached = None if track.force else track.feed.after(track.revision)
        batch: list[tuple[Event, Prebuilt[pb.WatchConferenceResponse] | None]]
        if cached is None:
            events = await self.hub.store.events(track.sid, track.revision, _BATCH)
            track.force = track.force and len(events) == _BATCH
            batch = [(e, None) for e in events]
        else:
            batch = [(c.event, c.message) for c in cached]
        if not batch:
            if track.feed.revision > track.revision:
                self.stalled.add(track.sid)  # announced, not visible yet: after the next wait
            return
        assert self.position is not None
        for event, message in batch:
            if event.revision != track.revision + 1:
                oldest = await self.hub.store.oldest_revision(track.sid)
                if oldest is not None and oldest > track.revision + 1:
                    raise errors.cursor_expired(
                        f"events of conference {track.sid} after revision {track.revision}"
                        " are no longer retained",
                        track.sid,
                    )
                raise errors.internal(
                    f"event log gap after revision {track.revision} in {track.sid}"
                )
            track.revision = event.revision
            ended = event.type is EventType.CONFERENCE_ENDED
            if ended:
                self._unfollow(track)
            else:
                self.position.set(track.ord, event.revision)
            if self._wants(event):
                yield self._event(event, message)
            if ended:
                return
        if track.force or track.feed.revision > track.revision:
            self.dirty[track.sid] = None  # its turn again after the others'

    def _look_again(self) -> None:
        for track in self.tracks.values():
            if track.feed.revision > track.revision:
                self.dirty[track.sid] = None

    async def _wait(self, beat: Beat) -> bool:
        """Wait for news (True) or for the progress interval to pass (False)."""
        if self.watch.closing:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        beat.idle(waiter)
        self.idle = True
        self.watch.note_idle()
        try:
            return await waiter
        finally:
            self.idle = False
            self.waiter = None
            beat.waiter = None

    async def run(
        self,
    ) -> AsyncIterator[AccountItem]:
        watch, hub = self.watch, self.hub
        account = self.account_sid
        hub.admit(account)
        metrics.WATCHERS.inc()
        discovery = watch.feeds.get(account)
        if discovery is None:
            discovery = watch.feeds[account] = AccountFeed(
                account, hub.store, hub.clock, watch.recent,
                poll_seconds=watch.poll_seconds, limit=watch.limit * READ_FACTOR,
            )  # fmt: skip
        self.discovery = discovery
        discovery.join(self)
        watch.streams.add(self)
        beat = Beat(hub.clock, hub.progress_seconds)
        try:
            if self.request.cursor:
                await self._resume()
            else:
                async for item in self._snapshot():
                    yield item
            while True:
                if watch.closing:
                    raise errors.shutting_down(RESUME_ELSEWHERE)
                if self.inbox:
                    found, self.inbox = self.inbox, []
                    for each in found:
                        self._caught_up(each.generation, self._take(each))
                sid = next(iter(self.dirty), None)
                if sid is None:
                    if self.parts:
                        yield IDLE
                    if not await self._wait(beat):
                        self._look_again()  # Rule 3: read after this marker
                        beat.spoke = True
                        yield self._progress()
                    for stalled in self.stalled:
                        if stalled in self.tracks:
                            self.dirty[stalled] = None
                    self.stalled.clear()
                    continue
                del self.dirty[sid]
                async for sent in self._advance(self.tracks[sid]):
                    beat.spoke = True
                    yield sent
                if beat.due():  # busy, but passing nothing on for an interval
                    beat.spoke = True
                    yield self._progress()
        finally:
            beat.stop()
            watch.streams.discard(self)
            for track in list(self.tracks.values()):
                self._unfollow(track)
            discovery.leave(self)
            if not discovery.streams and watch.feeds.get(account) is discovery:
                del watch.feeds[account]
            metrics.WATCHERS.dec()
            hub.release(account)
