"""What one WatchAccount stream follows and where it stands (rpc.account_stream sends).

Rule 1: a conference is followed through its watch feed: attached before its
        events are read, so nothing announced after the read is missed, and
        what was announced between the read and the attachment comes from
        rpc.account_feed.Recent (or the store, when Recent forgot).
Rule 2: a revision learnt from a read raises the feed's revision as an
        announcement does, waking everyone who follows the conference; and a
        stream whose wait ends with nothing to send looks at every feed it
        follows once, so no missed wake leaves it behind for longer than a
        progress interval.
Rule 3: what the stream shows is decided here, from its request's filters
        (friendly-name prefix, event types, labels, attributes), and those
        filters' fingerprint is bound into its position.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from rollcall.v1 import participant_service_pb2 as pb
from service.core import attributes, errors
from service.core.events import Event
from service.core.ports.store import FloorConference
from service.core.records import Participant
from service.rpc import messages
from service.rpc.account_cursor import Position, fingerprint
from service.rpc.account_feed import AccountFeed, Discovery, Recent
from service.rpc.watch import WatchHub
from service.rpc.watch_feed import Feed
from service.rpc.watch_filter import wants_type


class Watches(Protocol):
    """What following uses of rpc.watch_account.AccountWatch."""

    @property
    def hub(self) -> WatchHub: ...

    @property
    def limit(self) -> int: ...

    @property
    def recent(self) -> Recent: ...


class Track:
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


class Following:
    """One stream's conferences, position and filters (Rules 1 to 3)."""

    def __init__(
        self,
        watch: Watches,
        account_sid: str,
        request: pb.WatchAccountRequest,
    ) -> None:
        self.following = watch
        self.hub = watch.hub
        self.account_sid = account_sid
        self.request = request
        self.prefix = request.friendly_name_prefix
        self.types = set(request.event_types)
        self.labels = set(request.participant_labels)
        self.attributes = attributes.parse_filter(request.attributes)
        self.filters = fingerprint(self.prefix, self.types, self.labels, self.attributes)
        self.position: Position | None = None
        self.tracks: dict[str, Track] = {}
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
        # Rule 2: a revision read here may be ahead of what the feed was told
        # (another replica's commit whose notification is still on its way):
        # every stream and tracker of the feed must hear of it now, as the
        # notification, once it comes, is no news to the feed.
        feed.announce(found.conference.revision)
        self.tracks[sid] = Track(found, feed, revision)
        self.position.set(found.ord, revision)
        if feed.revision > revision:
            self.dirty[sid] = None
        if len(self.tracks) > self.following.limit:
            raise errors.account_watch_too_large(self.following.limit)

    def _unfollow(self, track: Track) -> None:
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

    def _caught_up(self, generation: int, followed: list[Track]) -> None:
        """What was announced of `followed` since their read (account_feed Rule 3)."""
        missed = self.following.recent.since(generation)
        for track in followed:
            if missed is None:
                track.force = True
                self.dirty[track.sid] = None
            elif track.sid in missed:
                track.feed.announce(missed[track.sid])

    def _take(self, found: Discovery) -> list[Track]:
        """A discovery read: follow what is new to this stream (Rule 2)."""
        position = self.position
        assert position is not None
        floor = found.floor
        if floor.truncated:
            raise errors.account_watch_too_large(self.following.limit)
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

    def _look_again(self) -> None:
        for track in self.tracks.values():
            if track.feed.revision > track.revision:
                self.dirty[track.sid] = None
