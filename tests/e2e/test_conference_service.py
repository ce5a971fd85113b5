"""End to end: ConferenceService over real gRPC (list, fetch, end, announce).

Ending a conference is a change like any other: every participant leaves,
watchers get conference-end and their stream closes OK, and the conference's
status callback sends `end` with Twilio's reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import OTHER_SID, OTHER_TOKEN, Harness, started
from tests.e2e.helpers import create, expect_error, list_all
from tests.fakes.receiver import Receiver

DAY = 86400


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with started(tmp_path) as harness:
        yield harness


def stub(h: Harness) -> cpb_grpc.ConferenceServiceStub:
    return cpb_grpc.ConferenceServiceStub(h.channel)


def account(h: Harness) -> str:
    return f"accounts/{h.account_sid}"


async def conference_sid(h: Harness, name: str) -> str:
    response = await stub(h).FetchConference(
        cpb.FetchConferenceRequest(name=h.parent(name)), metadata=h.md()
    )
    return response.conference.conference_sid


@pytest.mark.slow
async def test_list_is_newest_first_with_filters_and_paging(h: Harness) -> None:
    names = [f"room {n}" for n in range(5)]
    for name in names:
        await create(h, name)
        await h.advance(DAY)  # one conference per day
    await h.stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=h.parent("other tenant room", OTHER_SID),
            from_endpoint="+15005550006",
            to_endpoint="+15551230000",
        ),
        metadata=h.md(OTHER_SID, OTHER_TOKEN),
    )
    listed = await stub(h).ListConferences(
        cpb.ListConferencesRequest(parent=account(h)), metadata=h.md()
    )
    assert [c.friendly_name for c in listed.conferences] == names[::-1]
    assert all(c.revision > 0 and c.region == "us1" for c in listed.conferences)

    first = await stub(h).ListConferences(
        cpb.ListConferencesRequest(parent=account(h), page_size=2), metadata=h.md()
    )
    second = await stub(h).ListConferences(
        cpb.ListConferencesRequest(
            parent=account(h), page_size=2, page_token=first.next_page_token
        ),
        metadata=h.md(),
    )
    back = await stub(h).ListConferences(
        cpb.ListConferencesRequest(
            parent=account(h), page_size=2, page_token=second.previous_page_token
        ),
        metadata=h.md(),
    )
    assert [c.friendly_name for c in second.conferences] == names[2:0:-1]
    assert [c.friendly_name for c in back.conferences] == names[:2:-1][:2]
    assert not first.previous_page_token and not back.previous_page_token

    named = await stub(h).ListConferences(
        cpb.ListConferencesRequest(parent=account(h), friendly_name="room 3"), metadata=h.md()
    )
    assert [c.friendly_name for c in named.conferences] == ["room 3"]
    start = Timestamp(seconds=int(h.clock.now()) - 4 * DAY)  # room 1 onwards
    before = Timestamp(seconds=int(h.clock.now()) - 2 * DAY)  # up to room 2
    ranged = await stub(h).ListConferences(
        cpb.ListConferencesRequest(
            parent=account(h), created_at_or_after=start, created_before=before
        ),
        metadata=h.md(),
    )
    assert [c.friendly_name for c in ranged.conferences] == ["room 2", "room 1"]


async def test_status_filter_and_another_accounts_list(h: Harness) -> None:
    await create(h, "live")
    ended = await create(h, "ended")
    await h.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=h.name("ended", ended.participant.call_sid)),
        metadata=h.md(),
    )
    done = await stub(h).ListConferences(
        cpb.ListConferencesRequest(parent=account(h), status=ppb.CONFERENCE_STATUS_COMPLETED),
        metadata=h.md(),
    )
    assert [c.friendly_name for c in done.conferences] == ["ended"]
    assert done.conferences[0].end_reason == ppb.CONFERENCE_END_REASON_LAST_PARTICIPANT_KICKED
    error = await expect_error(
        stub(h).ListConferences(
            cpb.ListConferencesRequest(parent=f"accounts/{OTHER_SID}"), metadata=h.md()
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert error.twilio_code == 20404
    await expect_error(
        stub(h).FetchConference(
            cpb.FetchConferenceRequest(name=h.parent("live")),
            metadata=h.md(OTHER_SID, OTHER_TOKEN),
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_ending_removes_everyone_and_closes_watch_streams(
    h: Harness,
    receiver: Receiver,
) -> None:
    url = receiver.url("/conf")
    first = await create(
        h,
        "standup",
        conference_status_callback=url,
        conference_status_callback_event=[E.CONFERENCE_CALLBACK_EVENT_END],
    )
    await create(h, "standup", to="+15551230009")
    await h.advance(3)  # both connected
    sid = await conference_sid(h, "standup")
    before = await stub(h).FetchConference(
        cpb.FetchConferenceRequest(name=h.parent(sid)), metadata=h.md()
    )
    watch = h.stub.WatchConference(
        pb.WatchConferenceRequest(
            parent=h.parent(sid), resume_after_revision=before.conference.revision
        ),
        metadata=h.md(),
    )
    ended = await stub(h).UpdateConference(
        cpb.UpdateConferenceRequest(name=h.parent(sid), status=ppb.CONFERENCE_STATUS_COMPLETED),
        metadata=h.md(),
    )
    conference = ended.conference
    assert conference.status == ppb.CONFERENCE_STATUS_COMPLETED
    assert conference.end_reason == ppb.CONFERENCE_END_REASON_CONFERENCE_ENDED_VIA_API
    assert not conference.HasField("call_sid_ending_conference")
    assert conference.revision == before.conference.revision + 3  # two leaves, one end

    events = [item.event async for item in watch]  # ends: the stream closed OK
    assert await watch.code() == grpc.StatusCode.OK
    kinds = [e.type for e in events]
    assert kinds == [
        pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
        pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
        pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED,
    ]
    assert {e.participant.leave_reason for e in events[:2]} == {
        ppb.PARTICIPANT_LEAVE_REASON_CONFERENCE_ENDED_VIA_API
    }
    assert await list_all(h, sid) == []
    gone = await list_all(h, sid, include_ended=True)
    assert {p.call_sid for p in gone} >= {first.participant.call_sid}
    assert all(p.status == ppb.PARTICIPANT_STATUS_COMPLETE for p in gone)

    hits = await receiver.wait_delivered(1, "/conf")
    assert hits[0].params["StatusCallbackEvent"] == "conference-end"
    assert hits[0].params["ReasonConferenceEnded"] == "conference-ended-via-api"

    again = await stub(h).UpdateConference(
        cpb.UpdateConferenceRequest(name=h.parent(sid), status=ppb.CONFERENCE_STATUS_COMPLETED),
        metadata=h.md(),
    )
    assert again.conference.revision == conference.revision  # no change, no event


async def test_announce_to_the_whole_conference(
    h: Harness,
    receiver: Receiver,
) -> None:
    await create(
        h,
        "briefing",
        conference_status_callback=receiver.url("/conf"),
        conference_status_callback_event=[E.CONFERENCE_CALLBACK_EVENT_ANNOUNCEMENT],
    )
    sid = await conference_sid(h, "briefing")
    before = await stub(h).FetchConference(
        cpb.FetchConferenceRequest(name=h.parent("briefing")), metadata=h.md()
    )
    watch = h.stub.WatchConference(
        pb.WatchConferenceRequest(
            parent=h.parent(sid), resume_after_revision=before.conference.revision
        ),
        metadata=h.md(),
    )
    announced = await stub(h).UpdateConference(
        cpb.UpdateConferenceRequest(
            name=h.parent("briefing"),
            announce_url="https://example.com/say.xml",
            announce_method=E.HTTP_METHOD_GET,
        ),
        metadata=h.md(),
    )
    assert announced.conference.status != ppb.CONFERENCE_STATUS_COMPLETED
    assert announced.conference.revision == before.conference.revision + 1
    item = await asyncio.wait_for(anext(aiter(watch)), 10)
    assert item.event.type == pb.CONFERENCE_EVENT_TYPE_ANNOUNCEMENT_ENDED
    assert not item.event.HasField("participant")  # the whole conference
    watch.cancel()
    hits = await receiver.wait_delivered(1, "/conf")
    assert hits[0].params["StatusCallbackEvent"] == "announcement-end"
    assert hits[0].params["AnnounceUrl"] == "https://example.com/say.xml"
    assert "CallSid" not in hits[0].params


async def test_bad_updates_change_nothing(h: Harness) -> None:
    await create(h, "steady")
    before = await stub(h).FetchConference(
        cpb.FetchConferenceRequest(name=h.parent("steady")), metadata=h.md()
    )
    error = await expect_error(
        stub(h).UpdateConference(
            cpb.UpdateConferenceRequest(
                name=h.parent("steady"),
                status=ppb.CONFERENCE_STATUS_IN_PROGRESS,
                announce_url="not a url",
            ),
            metadata=h.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {v.field for v in error.violations} == {"status", "announce_url"}
    assert error.twilio_code == 21205
    after = await stub(h).FetchConference(
        cpb.FetchConferenceRequest(name=h.parent("steady")), metadata=h.md()
    )
    assert after.conference == before.conference
    await expect_error(
        stub(h).UpdateConference(
            cpb.UpdateConferenceRequest(
                name=h.parent("steady"), status=ppb.CONFERENCE_STATUS_COMPLETED
            ),
            metadata=h.md(OTHER_SID, OTHER_TOKEN),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (await list_all(h, "steady"))[0].status != ppb.PARTICIPANT_STATUS_COMPLETE


async def test_health_and_reflection_know_the_service(h: Harness) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    name = "rollcall.v1.ConferenceService"
    reply = await health_pb2_grpc.HealthStub(h.channel).Check(
        health_pb2.HealthCheckRequest(service=name)
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names: set[str] = set()
    async for answer in reflection_pb2_grpc.ServerReflectionStub(h.channel).ServerReflectionInfo(
        iter([request])
    ):
        names = {s.name for s in answer.list_services_response.service}
    assert name in names
