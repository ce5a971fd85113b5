"""End to end: what a server keeps, for how long (a real server on the manual clock).

Ended participants stay listed and fetchable for their window, then go; a
Create's request_id makes a retry a repeat for its window, then the same id is
a new Create; an ended conference goes with its log once its window has passed.
The retention pass runs on its own timer: the tests only advance the clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.metrics import REGISTRY
from tests.conftest import Harness, started
from tests.e2e.helpers import create, expect_error, fetch, list_all

HOUR = 3600.0


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(
        tmp_path,
        ended_participant_retention_seconds=2 * HOUR,
        ended_conference_retention_seconds=3 * HOUR,
        request_id_retention_seconds=HOUR,
        retention_interval_seconds=60.0,
    ) as harness:
        yield harness


def removed(kind: str) -> float:
    return REGISTRY.get_sample_value("rollcall_retention_removed_total", {"kind": kind}) or 0.0


async def test_an_ended_participant_is_kept_for_its_window_then_goes(h: Harness) -> None:
    gone = (await create(h, "room", to="+15551230001")).participant
    staying = (await create(h, "room", to="+15551230002")).participant
    await h.advance(3)  # both answered
    await h.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=h.name("room", gone.call_sid)), metadata=h.md()
    )
    before = removed("participants")
    await h.advance(2 * HOUR - 120)
    kept = await fetch(h, "room", gone.call_sid, include_ended=True)
    assert kept.call_sid == gone.call_sid
    assert len(await list_all(h, "room", include_ended=True)) == 2
    await h.advance(240)  # past its window, and a pass since
    await expect_error(
        h.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=h.name("room", gone.call_sid), include_ended=True),
            metadata=h.md(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    listed = await list_all(h, "room", include_ended=True)
    assert [p.call_sid for p in listed] == [staying.call_sid]
    assert removed("participants") == before + 1


async def test_a_request_id_is_a_repeat_for_its_window_then_a_new_create(h: Harness) -> None:
    first = (await create(h, "ids", request_id="order-1")).participant
    again = (await create(h, "ids", request_id="order-1")).participant
    assert again.call_sid == first.call_sid
    error = await expect_error(
        create(h, "ids", to="+15551239999", request_id="order-1"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.reason == "REQUEST_ID_REUSED"
    await h.advance(HOUR + 120)
    other = (await create(h, "ids", to="+15551239999", request_id="order-1")).participant
    assert other.call_sid != first.call_sid


async def test_a_request_id_lapses_with_its_participant(tmp_path: Path) -> None:
    # A participant window shorter than the request_id window.
    async with started(
        tmp_path,
        ended_participant_retention_seconds=60.0,
        request_id_retention_seconds=HOUR,
        retention_interval_seconds=30.0,
    ) as short:
        first = (await create(short, "ids", request_id="order-2")).participant
        await short.advance(3)
        await short.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=short.name("ids", first.call_sid)),
            metadata=short.md(),
        )
        await short.advance(120)
        again = (await create(short, "ids", request_id="order-2")).participant
        assert again.call_sid != first.call_sid
        repeat = (await create(short, "ids", request_id="order-2")).participant
        assert repeat.call_sid == again.call_sid


async def test_an_ended_conference_goes_with_its_log_after_its_window(h: Harness) -> None:
    conferences = cpb_grpc.ConferenceServiceStub(h.channel)
    await create(h, "standup")
    await h.advance(3)
    sid = (
        await conferences.FetchConference(
            cpb.FetchConferenceRequest(name=h.parent("standup")), metadata=h.md()
        )
    ).conference.conference_sid
    await conferences.UpdateConference(
        cpb.UpdateConferenceRequest(name=h.parent(sid), status=ppb.CONFERENCE_STATUS_COMPLETED),
        metadata=h.md(),
    )
    await h.advance(3 * HOUR - 120)
    await conferences.FetchConference(
        cpb.FetchConferenceRequest(name=h.parent(sid)), metadata=h.md()
    )
    assert await h.app.store.events(sid, 0, 100)
    await h.advance(240)
    await expect_error(
        conferences.FetchConference(
            cpb.FetchConferenceRequest(name=h.parent(sid)), metadata=h.md()
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert await h.app.store.events(sid, 0, 100) == []
