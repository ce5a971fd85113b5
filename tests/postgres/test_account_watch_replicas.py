"""WatchAccount on two replicas (two in-process servers) of one PostgreSQL
database: a watcher on one sees every conference begun and every change made
on the other, and a cursor issued by one resumes on the other."""

from __future__ import annotations

from pathlib import Path

from service.store.postgres.feed import PgFeed
from service.store.postgres.store import PostgresStore
from tests.e2e.account_watch import AccountStream, end_conference, mute, revision_of
from tests.e2e.helpers import create
from tests.postgres.conftest import replicas


async def test_a_watcher_on_b_follows_the_floor_written_on_a(tmp_path: Path) -> None:
    async with replicas(tmp_path, watch_poll_seconds=3600) as (a, b):
        live = (await create(a, "live", label="x")).participant
        stream = AccountStream(b)
        await stream.until_snapshot()
        assert set(stream.snapshot) == {live.conference_sid}
        # Begun, changed and ended on a: b hears of it by notification only.
        new = (await create(a, "new", label="y")).participant
        revision = await mute(a, new.conference_sid, "y")
        await stream.until(new.conference_sid, revision)
        await mute(b, live.conference_sid, "x")
        ended = await end_conference(a, new.conference_sid)
        await stream.until(new.conference_sid, ended.revision)
        assert stream.revisions[new.conference_sid] == list(range(1, ended.revision + 1))
        current = await revision_of(a, live.conference_sid)
        await stream.until(live.conference_sid, current)
        start = stream.snapshot[live.conference_sid].conference.revision
        assert stream.revisions[live.conference_sid] == list(range(start + 1, current + 1))
        stream.cancel()


async def test_a_conference_whose_notification_is_lost_is_found_by_the_poll(
    tmp_path: Path,
) -> None:
    async with replicas(tmp_path, watch_poll_seconds=0.3) as (a, b):
        stream = AccountStream(b)
        await stream.until_snapshot()
        assert isinstance(a.app.store, PostgresStore)
        a.app.store.notifier.changed = lambda revisions: None  # type: ignore[method-assign]
        new = (await create(a, "quiet")).participant
        # The account's poll runs on b's clock, every watch_poll_seconds.
        await b.advance(0.3)
        await stream.until(new.conference_sid, new.revision)
        stream.cancel()


async def test_a_cursor_from_a_resumes_on_b(tmp_path: Path) -> None:
    async with replicas(tmp_path, watch_poll_seconds=3600) as (a, b):
        one = (await create(a, "one", label="x")).participant
        first = AccountStream(a)
        await first.until_snapshot()
        r1 = await mute(a, one.conference_sid, "x")
        await first.until(one.conference_sid, r1)
        cursor = first.cursor
        first.cancel()
        await mute(a, one.conference_sid, "x", muted=False)
        two = (await create(b, "two")).participant
        resumed = AccountStream(b, cursor=cursor)
        now = await revision_of(a, one.conference_sid)
        await resumed.until(one.conference_sid, now)
        await resumed.until(two.conference_sid, two.revision)
        assert resumed.revisions[one.conference_sid] == list(range(r1 + 1, now + 1))
        assert resumed.revisions[two.conference_sid][0] == 1
        # And back: b's cursor resumes on a, with nothing old.
        cursor = resumed.cursor
        resumed.cancel()
        last = await mute(b, one.conference_sid, "x")
        back = AccountStream(a, cursor=cursor)
        await back.until(one.conference_sid, last)
        assert back.revisions == {one.conference_sid: [last]}
        back.cancel()


async def test_a_stream_on_b_hears_a_change_another_stream_read_first(tmp_path: Path) -> None:
    """Found by the robustness test: a stream that starts on b reads a
    revision of a's commit before b hears the commit's notification; the
    notification, once heard, was then no news to the conference's feed, and
    a stream already following the conference on b never woke for it."""
    async with replicas(tmp_path, watch_poll_seconds=3600) as (a, b):
        one = (await create(a, "one", label="x")).participant
        idle = AccountStream(b)
        await idle.until_snapshot()
        assert isinstance(a.app.store, PostgresStore)
        notify = a.app.store.notifier.changed
        a.app.store.notifier.changed = lambda revisions: None  # type: ignore[method-assign]
        revision = await mute(a, one.conference_sid, "x")
        a.app.store.notifier.changed = notify  # type: ignore[method-assign]
        # Another stream on b reads the new revision first...
        reader = AccountStream(b)
        await reader.until_snapshot()
        assert reader.snapshot[one.conference_sid].conference.revision == revision
        # ...then b hears of it (as a late notification would say).
        assert isinstance(b.app.feed, PgFeed)
        await b.app.feed.listener.reread()
        await idle.until(one.conference_sid, revision)
        idle.cancel()
        reader.cancel()
