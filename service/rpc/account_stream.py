"""One WatchAccount stream: its reads and what it sends (rpc.watch_account's rules).

It keeps those rules for one stream, on what it follows (rpc.account_follow).

Rule 1: a stream starts from one snapshot read or one cursor's reads, each
        attaching its conferences before their events are read
        (rpc.account_follow Rule 1).
Rule 2: the position changes before the item that carries it is built: an
        event's cursor already counts that event (and, for a conference-end,
        no longer follows the conference).
Rule 3: asked for parts (the in-process SSE face), events go out as
        AccountEvents and IDLE marks each wait (service.account_events);
        the order and cursors are the same.
Rule 4: PARK sent into a stream at its IDLE parks it: it follows no
        conference and reads nothing more, but still counts against the
        account's watchers until it is closed (its client now follows a
        shared stream: gateway.fanout).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import IDLE, PARK, AccountEvent, AccountItem
from service.core import errors
from service.core.events import Event, EventType
from service.core.ports.store import Floor, FloorConference
from service.renders import Prebuilt
from service.rpc import messages, metrics
from service.rpc.account_cursor import CursorSeal, Position, varint
from service.rpc.account_feed import AccountFeed, Discovery, Recent
from service.rpc.account_follow import Following, Track
from service.rpc.watch import RESUME_ELSEWHERE, WatchHub
from service.rpc.watch_beat import Beat

_BATCH = 500
# The snapshot's store read may hold this many times the limit (conferences
# that the friendly-name prefix then leaves out).
READ_FACTOR = 4
_CURSOR_TAG = b"\x2a"  # WatchAccountResponse.cursor: field 5, length-delimited


@dataclasses.dataclass(eq=False)
class Snapshot:
    """One snapshot read and the generation of `recent` before it (rpc.watch_account Rule 7)."""

    generation: int
    floor: Floor
    _people: dict[str, list[ppb.Participant]] = dataclasses.field(default_factory=dict)

    def people(self, item: FloorConference) -> list[ppb.Participant]:
        """Every participant of `item` as messages, built once per read. They
        are shared: a caller only copies them (into a message of its own)."""
        sid = item.conference.sid
        found = self._people.get(sid)
        if found is None:
            found = self._people[sid] = [messages.participant(p) for p in item.participants or ()]
        return found


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

    async def snapshot(self, account_sid: str, limit: int) -> Snapshot: ...


class AccountStream(Following):
    """One stream: what it sends, from a snapshot or a cursor on."""

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
        super().__init__(watch, account_sid, request)
        self.watch = watch
        self.parts = parts

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
        limit = self.watch.limit
        shot = await self.watch.snapshot(self.account_sid, limit * READ_FACTOR)
        generation, floor = shot.generation, shot.floor
        every_participant = not (self.labels or self.attributes)
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
            if every_participant:
                people = shot.people(item)
            else:
                people = [
                    messages.participant(p) for p in item.participants or () if self._shows(p)
                ]
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
        self, track: Track
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

    def _park(self, beat: Beat) -> None:
        """Follow nothing more, keep the account's count (Rule 4)."""
        beat.stop()
        self.watch.streams.discard(self)
        for track in list(self.tracks.values()):
            self._unfollow(track)
        discovery = self.discovery
        assert discovery is not None
        discovery.leave(self)
        if not discovery.streams and self.watch.feeds.get(self.account_sid) is discovery:
            del self.watch.feeds[self.account_sid]
        self.inbox.clear()

    async def run(self) -> AsyncGenerator[AccountItem, object]:
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
                    if self.parts and (yield IDLE) is PARK:
                        self._park(beat)
                        while True:  # until closed: nothing more is read or sent
                            yield IDLE
                    if not await self._wait(beat):
                        self._look_again()  # rpc.account_follow Rule 2
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
