"""Two replicas (two in-process servers) on one PostgreSQL database: a watcher
on one sees every change made on the other, in order, exactly once, even when
a notification is lost or the listener's connection is cut."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from rollcall.v1 import participant_service_pb2 as pb
from service.store.postgres.feed import PgFeed
from service.store.postgres.store import PostgresStore
from tests import pg
from tests.conftest import Harness
from tests.e2e.helpers import create
from tests.postgres.conftest import replicas

WAIT = 20.0


class Stream:
    """A watch stream and the revisions it has delivered."""

    def __init__(self, h: Harness, conference_sid: str) -> None:
        self.call = h.stub.WatchConference(
            pb.WatchConferenceRequest(parent=h.parent(conference_sid)), metadata=h.md()
        )
        self.items = self.call.__aiter__()
        self.revisions: list[int] = []
        self.start = 0

    async def snapshot(self) -> int:
        while True:
            item = await asyncio.wait_for(self.items.__anext__(), WAIT)
            if item.WhichOneof("item") == "initial_state_complete":
                self.start = item.initial_state_complete.revision
                return self.start

    async def until(self, revision: int) -> None:
        while not self.revisions or self.revisions[-1] < revision:
            item = await asyncio.wait_for(self.items.__anext__(), WAIT)
            if item.WhichOneof("item") == "event":
                self.revisions.append(item.event.revision)
        assert self.revisions == list(range(self.start + 1, revision + 1))


async def mute(h: Harness, conference_sid: str, call_sid: str, muted: bool) -> int:
    r = await h.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(name=h.name(conference_sid, call_sid), muted=muted),
        metadata=h.md(),
    )
    return int(r.participant.revision)


async def test_watcher_on_one_replica_sees_every_change_made_on_the_other(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path, watch_poll_seconds=3600) as (a, b):
        first = (await create(a, "room")).participant
        stream = Stream(b, first.conference_sid)
        await stream.snapshot()
        revision = 0
        for i in range(10):
            if i % 3 == 0:
                revision = int((await create(a, first.conference_sid)).participant.revision)
            else:
                revision = await mute(a, first.conference_sid, first.call_sid, i % 2 == 0)
        await stream.until(revision)
        # Writes on both replicas interleave in one order.
        for i in range(6):
            h = a if i % 2 else b
            revision = await mute(h, first.conference_sid, first.call_sid, i % 2 == 0)
        await stream.until(revision)
        stream.call.cancel()


async def test_a_lost_notification_delays_but_never_loses_an_event(tmp_path: Path) -> None:
    async with replicas(tmp_path, watch_poll_seconds=0.3) as (a, b):
        first = (await create(a, "room")).participant
        stream = Stream(b, first.conference_sid)
        await stream.snapshot()
        assert isinstance(a.app.store, PostgresStore)
        assert isinstance(b.app.feed, PgFeed)
        listener = b.app.feed.listener
        # Connected already: its re-read on connect cannot be what finds them.
        await asyncio.wait_for(listener.connected.wait(), WAIT)
        reconnects = listener.reconnects
        # Replica a's notifications are lost: only b's slow poll can find these.
        a.app.store.notifier.changed = lambda revisions: None  # type: ignore[method-assign]
        revision = 0
        for muted in (True, False, True):
            revision = await mute(a, first.conference_sid, first.call_sid, muted)
        await stream.until(revision)
        assert listener.reconnects == reconnects
        stream.call.cancel()


async def test_listener_reconnects_and_rereads_what_it_missed(tmp_path: Path) -> None:
    async with replicas(tmp_path, watch_poll_seconds=3600) as (a, b):
        first = (await create(a, "room")).participant
        stream = Stream(b, first.conference_sid)
        await stream.snapshot()
        assert isinstance(b.app.feed, PgFeed)
        listener = b.app.feed.listener
        await asyncio.wait_for(listener.connected.wait(), WAIT)
        before = listener.reconnects
        conn = await asyncpg.connect(pg.database_for(str(tmp_path)))
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'rollcall-listener b'"
            )
        finally:
            await conn.close()
        assert killed == 1
        # Committed while b's listener is (most likely) away: the re-read after
        # it reconnects finds it; the poll is an hour away.
        revision = await mute(a, first.conference_sid, first.call_sid, True)
        await stream.until(revision)
        assert listener.reconnects > before
        await asyncio.wait_for(listener.connected.wait(), WAIT)
        revision = await mute(a, first.conference_sid, first.call_sid, False)
        await stream.until(revision)
        stream.call.cancel()
