"""End to end: WatchAccount's snapshot, events of many conferences, conference
start and end, filters, progress markers and limits."""

from __future__ import annotations

from pathlib import Path

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import OTHER_SID, OTHER_TOKEN, Harness, started
from tests.e2e.account_watch import (
    AccountStream,
    account_parent,
    end_conference,
    mute,
    revision_of,
)
from tests.e2e.helpers import create, expect_error, list_all

T = pb


async def test_snapshot_is_every_live_conference_at_its_revision(harness: Harness) -> None:
    a1 = (await create(harness, "sales-1", label="agent")).participant
    await create(harness, "sales-1", label="customer")
    b1 = (await create(harness, "support-1", label="agent")).participant
    gone = (await create(harness, "old")).participant
    await end_conference(harness, gone.conference_sid)
    await harness.advance(3)
    stream = AccountStream(harness)
    done = await stream.until_snapshot()
    assert done.conferences == 2
    assert set(stream.snapshot) == {a1.conference_sid, b1.conference_sid}
    for sid, snap in stream.snapshot.items():
        people = await list_all(harness, sid)
        assert snap.conference.revision == await revision_of(harness, sid)
        assert {p.call_sid for p in snap.participants} == {p.call_sid for p in people}
        assert all(p.revision <= snap.conference.revision for p in snap.participants)
    # Live from there: each conference's next revision, once.
    r1 = await mute(harness, a1.conference_sid, "agent")
    r2 = await mute(harness, b1.conference_sid, "agent")
    await stream.until(a1.conference_sid, r1)
    await stream.until(b1.conference_sid, r2)
    assert stream.revisions == {a1.conference_sid: [r1], b1.conference_sid: [r2]}
    stream.cancel()


async def test_a_conference_starts_and_ends_on_the_stream(harness: Harness) -> None:
    stream = AccountStream(harness)
    assert (await stream.until_snapshot()).conferences == 0
    first = (await create(harness, "new", label="host")).participant
    await create(harness, "new", label="guest")
    await harness.advance(3)
    await end_conference(harness, first.conference_sid)
    end = await stream.until_type(first.conference_sid, T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED)
    revisions = stream.revisions[first.conference_sid]
    # From its very first event, each once, in order; the end is the last.
    assert revisions == list(range(1, end.revision + 1))
    kinds = [e.type for e in stream.events if e.conference.conference_sid == first.conference_sid]
    assert T.CONFERENCE_EVENT_TYPE_CONFERENCE_STARTED in kinds
    assert kinds.index(T.CONFERENCE_EVENT_TYPE_CONFERENCE_STARTED) < len(kinds) - 1
    assert kinds[-1] == T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED
    # A later conference still arrives: the stream goes on.
    other = (await create(harness, "later")).participant
    await stream.until(other.conference_sid, 1)
    assert end.revision == await revision_of(harness, first.conference_sid)
    stream.cancel()


async def test_filters_by_prefix_type_and_label(harness: Harness) -> None:
    sales = (await create(harness, "sales-1", label="agent")).participant
    await create(harness, "sales-1", label="customer")
    support = (await create(harness, "support-1", label="agent")).participant
    await harness.advance(3)
    stream = AccountStream(
        harness,
        friendly_name_prefix="sales-",
        event_types=[T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED],
        participant_labels=["agent"],
    )
    await stream.until_snapshot()
    (snap,) = stream.snapshot.values()
    assert snap.conference.conference_sid == sales.conference_sid
    assert [p.label for p in snap.participants] == ["agent"]
    await mute(harness, support.conference_sid, "agent")
    await mute(harness, sales.conference_sid, "customer")
    wanted = await mute(harness, sales.conference_sid, "agent")
    await stream.until(sales.conference_sid, wanted)
    assert [(e.type, e.participant.label) for e in stream.events] == [
        (T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, "agent")
    ]
    # Filtered events still move the cursor: a progress marker carries it.
    await harness.app.account_watch.wait_idle(1)  # type: ignore[union-attr]
    await harness.advance(harness.app.settings.watch_progress_seconds)
    while (await stream.next()).WhichOneof("item") != "progress":
        pass
    stream.cancel()
    # A new conference passing the prefix is followed; one that does not is not.
    stream = AccountStream(harness, friendly_name_prefix="sales-")
    await stream.until_snapshot()
    await create(harness, "support-2")
    later = (await create(harness, "sales-2")).participant
    await stream.until(later.conference_sid, 1)
    assert set(stream.revisions) == {later.conference_sid}
    stream.cancel()


async def test_tenancy_bounds_and_bad_requests(harness: Harness) -> None:
    other = AccountStream(harness, metadata=harness.md(OTHER_SID, OTHER_TOKEN))
    await expect_error(other.call.read(), grpc.StatusCode.NOT_FOUND)
    bad = harness.stub.WatchAccount(
        # 99 is deliberately no ConferenceEventType.
        pb.WatchAccountRequest(parent=account_parent(harness), event_types=[99]),  # type: ignore[list-item]
        metadata=harness.md(),
    )
    await expect_error(bad.read(), grpc.StatusCode.INVALID_ARGUMENT)
    many = harness.stub.WatchAccount(
        pb.WatchAccountRequest(
            parent=account_parent(harness), participant_labels=[str(i) for i in range(251)]
        ),
        metadata=harness.md(),
    )
    await expect_error(many.read(), grpc.StatusCode.INVALID_ARGUMENT)


async def test_a_stream_following_too_many_conferences_ends(tmp_path: Path) -> None:
    async with started(tmp_path, watch_account_conferences=2) as h:
        await create(h, "one")
        await create(h, "two")
        stream = AccountStream(h)
        await stream.until_snapshot()
        await create(h, "three")
        error = await expect_error(_drain(stream), grpc.StatusCode.RESOURCE_EXHAUSTED)
        assert error.reason == "ACCOUNT_WATCH_TOO_LARGE"
        # Narrowed by a prefix, it fits.
        narrow = AccountStream(h, friendly_name_prefix="t")
        assert (await narrow.until_snapshot()).conferences == 2
        narrow.cancel()


async def _drain(stream: AccountStream) -> None:
    while True:
        await stream.next()
