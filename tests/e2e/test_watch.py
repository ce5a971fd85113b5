"""End to end: WatchConference snapshot, resume, markers, filters, expiry, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from rollcall.v1 import participant_pb2 as S
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import OTHER_SID, OTHER_TOKEN, Harness
from tests.e2e.helpers import callbacks_caught_up, create, expect_error, fetch

T = pb


def watch(h: Harness, conference: str, **fields: Any) -> Any:
    return h.stub.WatchConference(
        pb.WatchConferenceRequest(parent=h.parent(conference), **fields), metadata=h.md()
    )


async def read(call: Any) -> pb.WatchConferenceResponse:
    item = await asyncio.wait_for(call.read(), timeout=10)
    assert item is not grpc.aio.EOF, "stream ended early"
    return item


async def mute(h: Harness, conference: str, key: str, muted: bool = True) -> Any:
    return (
        await h.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=h.name(conference, key), muted=muted), metadata=h.md()
        )
    ).participant


async def test_snapshot_then_live_events(harness: Harness) -> None:
    a = (await create(harness, "room", label="a")).participant
    b = (await create(harness, "room", label="b")).participant
    conf = a.conference_sid
    call = watch(harness, conf)
    initial = [await read(call), await read(call)]
    assert {i.initial_participant.call_sid for i in initial} == {a.call_sid, b.call_sid}
    done = await read(call)
    assert done.WhichOneof("item") == "initial_state_complete"
    revision = done.initial_state_complete.revision
    assert revision == b.revision + 2  # b's dialing and ringing, committed with its Create
    muted = await mute(harness, conf, "a")
    event = (await read(call)).event
    assert event.type == T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED
    assert event.revision == revision + 1 == muted.revision
    assert event.participant == muted
    assert event.conference.revision == event.revision
    call.cancel()


async def test_resume_after_revision_and_call_progress(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    conf = a.conference_sid
    await harness.advance(3)  # connecting, ringing, joined
    call = watch(harness, conf, resume_after_revision=1)
    kinds = []
    for expected in (2, 3, 4):
        event = (await read(call)).event
        assert event.revision == expected
        kinds.append(event.type)
    assert kinds == [
        T.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED,
        T.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED,
        T.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED,
    ]
    call.cancel()


async def test_progress_marker_when_idle(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    await harness.advance(3)  # connected: nothing more happens on its own
    call = watch(harness, a.conference_sid)
    while (await read(call)).WhichOneof("item") != "initial_state_complete":
        pass
    assert harness.app.watch is not None
    await harness.app.watch.wait_idle(1)
    await harness.advance(harness.app.settings.watch_progress_seconds)
    marker = await read(call)
    assert marker.progress.revision == 4
    call.cancel()


async def test_conference_end_closes_stream_ok(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    # Past its dialing and ringing, committed with the Create.
    call = watch(harness, a.conference_sid, resume_after_revision=a.revision + 2)
    await harness.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=harness.name(a.conference_sid, a.call_sid)),
        metadata=harness.md(),
    )
    left = (await read(call)).event
    ended = (await read(call)).event
    assert left.type == T.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT
    assert ended.type == T.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED
    assert ended.conference.end_reason == S.CONFERENCE_END_REASON_LAST_PARTICIPANT_KICKED
    assert await asyncio.wait_for(call.read(), timeout=10) is grpc.aio.EOF
    assert await call.code() == grpc.StatusCode.OK
    # An ended conference replays to its end and closes.
    replay = watch(harness, a.conference_sid, resume_after_revision=0)
    items = [item async for item in replay]
    assert [i.event.revision for i in items] == [1, 2, 3, 4, 5]


async def test_bad_revisions(harness: Harness) -> None:
    created = (await create(harness, "room")).participant
    a = await fetch(harness, created.conference_sid, created.call_sid)
    error = await expect_error(
        _drain(watch(harness, a.conference_sid, resume_after_revision=a.revision + 1)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.reason == "REVISION_FROM_FUTURE"


async def test_compacted_history_is_out_of_range(tmp_path: Any) -> None:
    from tests.conftest import started

    async with started(tmp_path, event_retention_count=2, event_retention_seconds=0) as h:
        a = (await create(h, "room")).participant
        for i in range(5):
            await mute(h, a.conference_sid, a.call_sid, muted=i % 2 == 0)
        await h.advance(1)
        await callbacks_caught_up(h.app)
        assert await h.app.compact() > 0
        error = await expect_error(
            _drain(watch(h, a.conference_sid, resume_after_revision=1)),
            grpc.StatusCode.OUT_OF_RANGE,
        )
        assert error.reason == "REVISION_COMPACTED"
        current = int(error.metadata["current_revision"])
        oldest = int(error.metadata["oldest_revision"])
        assert oldest == current - 1
        call = watch(h, a.conference_sid, resume_after_revision=oldest - 1)
        assert (await read(call)).event.revision == oldest
        call.cancel()


async def test_filters_by_kind_and_participant(harness: Harness) -> None:
    a = (await create(harness, "room", label="agent")).participant
    await create(harness, "room", label="customer")
    await harness.advance(3)
    conf = a.conference_sid
    start = (await fetch(harness, conf, "agent")).revision
    call = watch(
        harness,
        conf,
        resume_after_revision=start,
        event_types=[T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED],
        participants=["agent"],
    )
    await mute(harness, conf, "customer")
    await mute(harness, conf, "agent")
    await mute(harness, conf, "agent", muted=False)
    event = (await read(call)).event
    assert (event.type, event.participant.label) == (
        T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        "agent",
    )
    await mute(harness, conf, "customer", muted=False)
    assert harness.app.watch is not None
    await harness.app.watch.wait_idle(1)
    await harness.advance(harness.app.settings.watch_progress_seconds)
    # The customer's mute was filtered out, but the marker still carries the
    # revision the stream has covered.
    marker = (await read(call)).progress
    page = await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=harness.parent(conf)), metadata=harness.md()
    )
    assert marker.revision == page.revision > event.revision
    call.cancel()


async def test_watch_tenancy_and_limits(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    other = harness.stub.WatchConference(
        pb.WatchConferenceRequest(parent=harness.parent(a.conference_sid)),
        metadata=harness.md(OTHER_SID, OTHER_TOKEN),
    )
    await expect_error(_drain(other), grpc.StatusCode.NOT_FOUND)
    await expect_error(
        _drain(watch(harness, a.conference_sid, event_types=[99])),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_watchers_per_account_limit(tmp_path: Any) -> None:
    from tests.conftest import started

    async with started(tmp_path, watchers_per_account=2) as h:
        a = (await create(h, "room")).participant
        open_calls = [
            watch(h, a.conference_sid, resume_after_revision=a.revision) for _ in range(2)
        ]
        assert h.app.watch is not None
        await h.app.watch.wait_idle(2)
        error = await expect_error(
            _drain(watch(h, a.conference_sid)), grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        assert error.reason == "WATCHER_LIMIT"
        for c in open_calls:
            c.cancel()


async def _drain(call: Any) -> None:
    async for _ in call:
        pass
