"""WatchAccount: every conference of an account, from one snapshot or cursor on.

Rule 1: a snapshot is one Store.floor read: every live conference (passing
        the friendly-name prefix) with its participants, each consistent at
        its own revision, and the arrival horizon of that read.
Rule 2: a stream follows each conference it knows through the conference's
        watch feed (rpc.watch_feed, shared with WatchConference) and sends
        its events in revision order, once each, from the feed's cache or the
        store; conferences with news take turns, one bounded batch each.
Rule 3: a conference found after the snapshot or cursor (rpc.account_feed)
        is followed from its first event; a conference's conference-end is
        the last event sent of it, and it is then followed no more.
Rule 4: every event, every progress marker and the snapshot's end carry the
        cursor of the position after them (rpc.account_cursor); resuming
        from it sends every event after it, once, and nothing before it.
Rule 5: a resume whose events are gone (compaction), or that more
        conferences began after than a stream may follow, is CURSOR_EXPIRED
        (start over); a stream that would follow more conferences than its
        limit ends ACCOUNT_WATCH_TOO_LARGE.
Rule 6: progress markers, the count against the account's watchers and the
        end at shutdown are WatchConference's (rpc.watch).
Rule 7: streams of one account that start while a snapshot read of it is under
        way share that read (`snapshot`), and each treats as news every change
        noted since the read began: a read taken a moment before a stream asked
        is still one consistent snapshot, and a crowd reconnecting at once costs
        one read and one decode, not one each. The participants' messages of
        a shared read are built once too, for the streams that show them all.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Sequence

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import AccountItem
from service.core import errors
from service.core.events import Event
from service.rpc.account_cursor import CursorSeal
from service.rpc.account_feed import AccountFeed, Recent
from service.rpc.account_stream import AccountStream, Snapshot
from service.rpc.watch import RESUME_ELSEWHERE, WatchHub
from service.rpc.watch_filter import check_types


class AccountWatch:
    """The account watches of one replica, beside the hub of WatchConference."""

    def __init__(self, hub: WatchHub, seal: CursorSeal, *, limit: int, poll_seconds: float) -> None:
        self.hub = hub
        self.seal = seal
        self.limit = limit
        self.poll_seconds = poll_seconds
        self.recent = Recent()
        self.feeds: dict[str, AccountFeed] = {}
        self.streams: set[AccountStream] = set()
        self._changed: asyncio.Event | None = None
        self.closing = False
        # Snapshot reads under way, by account and limit (Rule 7).
        self._snapshots: dict[tuple[str, int], asyncio.Future[Snapshot]] = {}
        hub.accounts = self
        # Reads made for every stream that shares them (tests).
        self.snapshot_reads = 0

    async def snapshot(self, account_sid: str, limit: int) -> Snapshot:
        """The live floor of the account with its participants, read once for
        every stream that starts while it is read (Rule 7)."""
        key = (account_sid, limit)
        shared = self._snapshots.get(key)
        if shared is None:
            generation = self.recent.generation
            self.snapshot_reads += 1

            async def read() -> Snapshot:
                floor = await self.hub.store.floor(
                    account_sid, live=True, participants=True, limit=limit
                )
                return Snapshot(generation, floor)

            # A context of its own: the read outlives whichever stream began it.
            shared = asyncio.get_running_loop().create_task(read(), context=contextvars.Context())
            self._snapshots[key] = shared

            def done(task: asyncio.Future[Snapshot]) -> None:
                if self._snapshots.get(key) is task:
                    del self._snapshots[key]
                if not task.cancelled():
                    task.exception()  # retrieved: each sharer raises its own copy

            shared.add_done_callback(done)
        return await asyncio.shield(shared)

    # -- the hub's hooks -------------------------------------------------------

    def committed(self, events: Sequence[Event]) -> None:
        for event in events:
            self.recent.note(event.conference_sid, event.revision)
            feed = self.feeds.get(event.account_sid)
            if feed is not None:
                feed.news(event.conference_sid)

    def heard(self, conference_sid: str, revision: int) -> None:
        self.recent.note(conference_sid, revision)
        for feed in self.feeds.values():
            feed.news(conference_sid)

    def close(self) -> None:
        self.closing = True
        for feed in self.feeds.values():
            feed.close()
        for stream in list(self.streams):
            stream.wake()

    # -- for tests and benchmarks ----------------------------------------------

    def caught_up(self) -> int:
        return sum(1 for s in self.streams if s.idle and not s.dirty and not s.inbox)

    async def wait_idle(self, streams: int) -> None:
        """Until at least `streams` account streams have sent all they know and wait."""
        while self.caught_up() < streams:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def note_idle(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # -- streams ---------------------------------------------------------------

    def watch(
        self, account_sid: str, request: pb.WatchAccountRequest, *, parts: bool = False
    ) -> AsyncIterator[AccountItem]:
        """The stream for the caller's account (authenticated, rate-limited and
        checked by ParticipantApi); `parts`: see service.account_events."""
        check_types(request.event_types)
        if self.closing:
            raise errors.shutting_down(RESUME_ELSEWHERE)
        return AccountStream(self, account_sid, request, parts=parts).run()
