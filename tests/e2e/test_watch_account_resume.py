"""End to end: resuming WatchAccount from a cursor: exactly the missing events,
once each; compacted, foreign, forged and mismatched cursors refused, typed."""

from __future__ import annotations

from pathlib import Path

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import OTHER_SID, OTHER_TOKEN, Harness, started
from tests.e2e.account_watch import AccountStream, end_conference, mute, revision_of
from tests.e2e.helpers import callbacks_caught_up, create, expect_error

T = pb


def _contiguous(stream: AccountStream, conference_sid: str, after: int, upto: int) -> None:
    assert stream.revisions.get(conference_sid, []) == list(range(after + 1, upto + 1)), (
        conference_sid,
        stream.revisions.get(conference_sid),
        after,
        upto,
    )


async def test_resume_sends_exactly_the_missing_events_once(harness: Harness) -> None:
    one = (await create(harness, "one", label="a")).participant
    two = (await create(harness, "two", label="a")).participant
    await harness.advance(3)
    first = AccountStream(harness)
    await first.until_snapshot()
    start = {sid: s.conference.revision for sid, s in first.snapshot.items()}
    r1 = await mute(harness, one.conference_sid, "a")
    await first.until(one.conference_sid, r1)
    cursor = first.cursor
    first.cancel()
    # While nobody watches: more in both, a conference begun and ended, one ended.
    await mute(harness, one.conference_sid, "a", muted=False)
    await mute(harness, two.conference_sid, "a")
    brief = (await create(harness, "brief")).participant
    await end_conference(harness, brief.conference_sid)
    await end_conference(harness, two.conference_sid)
    ends = {sid: await revision_of(harness, sid) for sid in (two.conference_sid,)}
    resumed = AccountStream(harness, cursor=cursor)
    brief_end = await revision_of(harness, brief.conference_sid)
    await resumed.until(brief.conference_sid, brief_end)
    await resumed.until(two.conference_sid, ends[two.conference_sid])
    now_one = await revision_of(harness, one.conference_sid)
    await resumed.until(one.conference_sid, now_one)
    _contiguous(resumed, one.conference_sid, r1, now_one)
    _contiguous(resumed, two.conference_sid, start[two.conference_sid], ends[two.conference_sid])
    _contiguous(resumed, brief.conference_sid, 0, brief_end)
    # Live on from there; an ended conference is followed no more.
    later = await mute(harness, one.conference_sid, "a")
    await resumed.until(one.conference_sid, later)
    _contiguous(resumed, one.conference_sid, r1, later)
    # The newest cursor resumes to nothing old.
    again = AccountStream(harness, cursor=resumed.cursor)
    resumed.cancel()
    last = await mute(harness, one.conference_sid, "a", muted=False)
    await again.until(one.conference_sid, last)
    assert again.revisions == {one.conference_sid: [last]}
    again.cancel()


async def test_resume_from_the_snapshot_and_from_a_progress_marker(harness: Harness) -> None:
    one = (await create(harness, "one", label="a")).participant
    await harness.advance(3)
    stream = AccountStream(harness)
    await stream.until_snapshot()
    snap_cursor = stream.cursor
    await harness.app.account_watch.wait_idle(1)  # type: ignore[union-attr]
    await harness.advance(harness.app.settings.watch_progress_seconds)
    assert (await stream.next()).WhichOneof("item") == "progress"
    marker_cursor = stream.cursor
    stream.cancel()
    revision = await mute(harness, one.conference_sid, "a")
    for cursor in (snap_cursor, marker_cursor):
        resumed = AccountStream(harness, cursor=cursor)
        await resumed.until(one.conference_sid, revision)
        assert resumed.revisions == {one.conference_sid: [revision]}
        resumed.cancel()


async def test_foreign_forged_and_mismatched_cursors_are_refused(harness: Harness) -> None:
    await create(harness, "one", label="a")
    stream = AccountStream(harness, friendly_name_prefix="o")
    await stream.until_snapshot()
    cursor = stream.cursor
    stream.cancel()
    # Another account's caller with this cursor: refused before any item.
    other = harness.stub.WatchAccount(
        pb.WatchAccountRequest(
            parent=f"accounts/{OTHER_SID}", cursor=cursor, friendly_name_prefix="o"
        ),
        metadata=harness.md(OTHER_SID, OTHER_TOKEN),
    )
    error = await expect_error(other.read(), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.reason == "CURSOR_INVALID"
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for forged in (flipped, "AW" + "A" * 40, "not a cursor"):
        bad = AccountStream(harness, cursor=forged, friendly_name_prefix="o")
        error = await expect_error(bad.call.read(), grpc.StatusCode.INVALID_ARGUMENT)
        assert error.reason == "CURSOR_INVALID"
    mismatched = AccountStream(harness, cursor=cursor, friendly_name_prefix="x")
    error = await expect_error(mismatched.call.read(), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.reason == "CURSOR_FILTER_MISMATCH"


async def test_a_compacted_cursor_says_start_over(tmp_path: Path) -> None:
    async with started(tmp_path, event_retention_count=2, event_retention_seconds=0) as h:
        one = (await create(h, "one", label="a")).participant
        stream = AccountStream(h)
        await stream.until_snapshot()
        cursor = stream.cursor
        stream.cancel()
        for i in range(5):
            await mute(h, one.conference_sid, "a", muted=i % 2 == 0)
        await h.advance(1)
        await callbacks_caught_up(h.app)
        assert await h.app.compact() > 0
        resumed = AccountStream(h, cursor=cursor)
        error = await expect_error(resumed.call.read(), grpc.StatusCode.OUT_OF_RANGE)
        assert error.reason == "CURSOR_EXPIRED"
        assert error.metadata["conference_sid"] == one.conference_sid
        # Starting over works.
        fresh = AccountStream(h)
        assert (await fresh.until_snapshot()).conferences == 1
        fresh.cancel()
