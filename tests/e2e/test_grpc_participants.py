"""End to end over gRPC: every RPC of ParticipantService and its rules."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from rollcall.v1 import enums_pb2 as en
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.carriers.simulated.adapter import SimulatedCarrier
from tests.conftest import Harness
from tests.e2e.helpers import create, expect_error, fetch, list_all

S = ppb


async def test_create_by_friendly_name_then_by_sid_joins_same_conference(harness: Harness) -> None:
    first = (await create(harness, "standup", label="a")).participant
    assert first.status == S.PARTICIPANT_STATUS_QUEUED
    assert first.call_sid.startswith("CA") and len(first.call_sid) == 34
    assert first.conference_sid.startswith("CF")
    assert first.HasField("queue_time_ms")
    assert first.name.endswith(f"/participants/{first.call_sid}")
    second = (await create(harness, first.conference_sid, label="b")).participant
    assert second.conference_sid == first.conference_sid
    third = (await create(harness, "standup", label="c")).participant
    assert third.conference_sid == first.conference_sid


async def test_call_progresses_and_conference_starts(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    await harness.advance(0)
    assert (
        await fetch(harness, a.conference_sid, a.call_sid)
    ).status == S.PARTICIPANT_STATUS_RINGING
    await harness.advance(2)
    joined = await fetch(harness, a.conference_sid, a.call_sid)
    assert joined.status == S.PARTICIPANT_STATUS_CONNECTED
    assert joined.call_status == S.CALL_STATUS_IN_PROGRESS
    assert joined.revision == 4  # queued, connecting, ringing, joined
    b = (await create(harness, "room")).participant
    await harness.advance(3)
    listed = await list_all(harness, a.conference_sid)
    assert {p.call_sid for p in listed} == {a.call_sid, b.call_sid}
    page = await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=harness.parent(a.conference_sid)), metadata=harness.md()
    )
    # 4 changes per call plus conference-start.
    assert page.revision == 9


async def test_every_create_parameter_is_accepted(harness: Harness) -> None:
    target = (await create(harness, "full")).participant
    response = await create(
        harness,
        "full",
        status_callback="https://example.com/status?x=1",
        status_callback_method=en.HTTP_METHOD_GET,
        status_callback_event=[en.CALL_EVENT_INITIATED, en.CALL_EVENT_COMPLETED],
        label="every field",
        timeout=30,
        record=True,
        muted=True,
        beep=en.BEEP_ON_ENTER,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url="",
        wait_method=en.HTTP_METHOD_GET,
        early_media=False,
        max_participants=10,
        conference_record=en.CONFERENCE_RECORD_RECORD_FROM_START,
        conference_trim=en.TRIM_DO_NOT_TRIM,
        conference_status_callback="https://example.com/conf",
        conference_status_callback_method=en.HTTP_METHOD_POST,
        conference_status_callback_event=[en.CONFERENCE_CALLBACK_EVENT_START],
        recording_channels=en.RECORDING_CHANNELS_DUAL,
        recording_status_callback="https://example.com/rec",
        recording_status_callback_method=en.HTTP_METHOD_GET,
        sip_auth_username="user",
        sip_auth_password="pass",
        region=en.REGION_IE1,
        conference_recording_status_callback="https://example.com/crec",
        conference_recording_status_callback_method=en.HTTP_METHOD_POST,
        recording_status_callback_event=[en.RECORDING_EVENT_STARTED, en.RECORDING_EVENT_PAUSED],
        conference_recording_status_callback_event=[en.RECORDING_EVENT_COMPLETED],
        coaching=True,
        call_sid_to_coach=target.call_sid,
        jitter_buffer_size=en.JITTER_BUFFER_SIZE_SMALL,
        byoc="BY" + "0" * 32,
        caller_id="+15005550006",
        call_reason="support",
        recording_track=en.RECORDING_TRACK_INBOUND,
        time_limit=600,
        machine_detection=en.MACHINE_DETECTION_DETECT_MESSAGE_END,
        machine_detection_timeout=30,
        machine_detection_speech_threshold=2400,
        machine_detection_speech_end_threshold=1200,
        machine_detection_silence_timeout=5000,
        amd_status_callback="https://example.com/amd",
        amd_status_callback_method=en.HTTP_METHOD_GET,
        trim=en.TRIM_TRIM_SILENCE,
        call_token="token",
        client_notification_url="https://example.com/push",
        caller_display_name="Support",
    )
    p = response.participant
    assert p.muted and p.coaching and p.end_conference_on_exit
    assert not p.start_conference_on_enter
    assert p.call_sid_to_coach == target.call_sid
    assert p.label == "every field"


@pytest.mark.parametrize(
    ("fields", "bad_field", "twilio_code"),
    [
        ({"to": ""}, "to_endpoint", 21201),
        ({"to": "555"}, "to_endpoint", 21211),
        ({"timeout": 4}, "timeout", None),
        ({"timeout": 601}, "timeout", None),
        ({"max_participants": 1}, "max_participants", 16002),
        ({"max_participants": 251}, "max_participants", 16002),
        ({"status_callback": "ftp://x"}, "status_callback", 21205),
        ({"wait_url": "not a url"}, "wait_url", 21205),
        ({"label": "x" * 129}, "label", 16024),
        ({"label": "CA" + "a" * 32}, "label", 16024),
        ({"label": "a/b"}, "label", 16024),
        ({"label": "a%2Fb"}, "label", 16024),
        ({"coaching": True}, "call_sid_to_coach", None),
        ({"call_sid_to_coach": "CA123"}, "call_sid_to_coach", None),
        ({"byoc": "BY1"}, "byoc", None),
        ({"machine_detection_timeout": 60}, "machine_detection_timeout", 21263),
        ({"beep": 99}, "beep", None),
        ({"status_callback_event": [0]}, "status_callback_event", None),
        (
            {"conference_recording_status_callback_event": [en.RECORDING_EVENT_PAUSED]},
            "conference_recording_status_callback_event",
            None,
        ),
        ({"caller_display_name": "x"}, "caller_display_name", None),
        ({"sip_auth_username": "u" * 256}, "sip_auth_username", 21222),
    ],
)
async def test_bad_create_fields_are_refused_and_change_nothing(
    harness: Harness, fields: dict[str, Any], bad_field: str, twilio_code: int | None
) -> None:
    error = await expect_error(create(harness, "bad", **fields), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_field in {v.field for v in error.violations}
    if twilio_code is not None:
        assert error.twilio_code == twilio_code
    assert error.http_status == 400
    # Nothing was created: the conference name is still unknown.
    await expect_error(
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent("bad")), metadata=harness.md()
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_several_bad_fields_are_all_named(harness: Harness) -> None:
    request = pb.CreateParticipantRequest(
        parent=harness.parent("x"), from_endpoint="bad", to_endpoint="bad", timeout=1
    )
    error = await expect_error(
        harness.stub.CreateParticipant(request, metadata=harness.md()),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {v.field for v in error.violations} == {"from_endpoint", "to_endpoint", "timeout"}


@pytest.mark.parametrize(
    ("to", "field", "code"),
    [
        ("+15005550001", "to_endpoint", 21217),
        ("+15005550002", "to_endpoint", 21214),
        ("+15005550003", "to_endpoint", 21215),
        ("+15005550004", "to_endpoint", 21216),
    ],
)
async def test_twilio_test_numbers(harness: Harness, to: str, field: str, code: int) -> None:
    error = await expect_error(create(harness, "t", to=to), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.twilio_code == code
    assert error.violations[0].field == field


async def test_fetch_by_label_and_by_sid(harness: Harness) -> None:
    p = (await create(harness, "room", label="agent one ✓")).participant
    by_label = await fetch(harness, p.conference_sid, "agent one ✓")
    by_sid = await fetch(harness, p.conference_sid, p.call_sid)
    assert by_label == by_sid
    by_name = await fetch(harness, "room", p.call_sid)
    assert by_name.call_sid == p.call_sid


async def test_not_found_paths(harness: Harness) -> None:
    p = (await create(harness, "room")).participant
    for name in (
        harness.name(p.conference_sid, "CA" + "0" * 32),
        harness.name(p.conference_sid, "nobody"),
        harness.name("CF" + "0" * 32, p.call_sid),
        harness.name("no-such-room", p.call_sid),
    ):
        error = await expect_error(
            harness.stub.FetchParticipant(
                pb.FetchParticipantRequest(name=name), metadata=harness.md()
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert error.twilio_code == 20404
    await expect_error(create(harness, "CF" + "0" * 32), grpc.StatusCode.NOT_FOUND)


async def test_malformed_names_are_invalid(harness: Harness) -> None:
    for name in (
        "",
        "accounts/x",
        "accounts/AC1/conferences/c/participants/p",
        harness.parent("room") + "/participants/",
    ):
        error = await expect_error(
            harness.stub.FetchParticipant(
                pb.FetchParticipantRequest(name=name), metadata=harness.md()
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert error.violations[0].field == "name"


async def test_label_unique_among_active_participants(harness: Harness) -> None:
    p = (await create(harness, "room", label="agent")).participant
    error = await expect_error(
        create(harness, "room", label="agent"), grpc.StatusCode.ALREADY_EXISTS
    )
    assert (error.reason, error.twilio_code) == ("LABEL_IN_USE", 16026)
    keep = (await create(harness, "room", label="other")).participant
    await harness.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=harness.name(p.conference_sid, "agent")),
        metadata=harness.md(),
    )
    again = (await create(harness, "room", label="agent")).participant
    assert again.conference_sid == keep.conference_sid
    assert (await fetch(harness, again.conference_sid, "agent")).call_sid == again.call_sid


async def test_conference_full(harness: Harness) -> None:
    p = (await create(harness, "small", max_participants=2)).participant
    await create(harness, "small", max_participants=250)  # ignored: the first one decides
    error = await expect_error(create(harness, "small"), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert (error.reason, error.twilio_code) == ("CONFERENCE_FULL", 16020)
    assert len(await list_all(harness, p.conference_sid)) == 2


async def test_coaching_needs_an_active_target_in_the_same_conference(harness: Harness) -> None:
    elsewhere = (await create(harness, "other")).participant
    agent = (await create(harness, "room")).participant
    error = await expect_error(
        create(harness, "room", call_sid_to_coach=elsewhere.call_sid),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.twilio_code == 16028
    coach = (await create(harness, "room", call_sid_to_coach=agent.call_sid)).participant
    assert coach.coaching and coach.call_sid_to_coach == agent.call_sid
    await harness.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(
            name=harness.name(agent.conference_sid, agent.call_sid), hold=True
        ),
        metadata=harness.md(),
    )
    error = await expect_error(
        create(harness, "room", call_sid_to_coach=agent.call_sid),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.twilio_code == 16027


async def test_update_with_field_presence_and_etag(harness: Harness) -> None:
    p = (await create(harness, "room", muted=True)).participant
    name = harness.name(p.conference_sid, p.call_sid)
    held = (
        await harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=name, hold=True, hold_url="https://example.com/hold"),
            metadata=harness.md(),
        )
    ).participant
    assert held.hold and held.muted  # muted untouched
    assert held.revision > p.revision and held.etag != p.etag
    error = await expect_error(
        harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=name, muted=False, etag=p.etag), metadata=harness.md()
        ),
        grpc.StatusCode.ABORTED,
    )
    assert error.reason == "ETAG_MISMATCH"
    assert (await fetch(harness, p.conference_sid, p.call_sid)).muted
    unmuted = (
        await harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=name, muted=False, etag=held.etag),
            metadata=harness.md(),
        )
    ).participant
    assert not unmuted.muted and unmuted.hold
    same = (
        await harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=name, muted=False), metadata=harness.md()
        )
    ).participant
    assert same.revision == unmuted.revision  # no change, no new revision


async def test_update_all_fields(harness: Harness) -> None:
    target = (await create(harness, "room")).participant
    p = (await create(harness, "room")).participant
    updated = (
        await harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(
                name=harness.name(p.conference_sid, p.call_sid),
                muted=True,
                hold=True,
                hold_url="https://e.com/h",
                hold_method=en.HTTP_METHOD_POST,
                announce_url="https://e.com/a",
                announce_method=en.HTTP_METHOD_GET,
                wait_url="",
                wait_method=en.HTTP_METHOD_GET,
                beep_on_exit=False,
                end_conference_on_exit=True,
                coaching=True,
                call_sid_to_coach=target.call_sid,
            ),
            metadata=harness.md(),
        )
    ).participant
    assert updated.muted and updated.hold and updated.end_conference_on_exit and updated.coaching
    assert updated.call_sid_to_coach == target.call_sid
    error = await expect_error(
        harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(
                name=harness.name(p.conference_sid, p.call_sid), hold_url="nope"
            ),
            metadata=harness.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.twilio_code == 21205


async def test_delete_ends_call_and_last_one_ends_conference(harness: Harness) -> None:
    a = (await create(harness, "room")).participant
    b = (await create(harness, "room")).participant
    await harness.advance(3)
    gone = (
        await harness.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=harness.name(a.conference_sid, a.call_sid)),
            metadata=harness.md(),
        )
    ).participant
    assert gone.status == S.PARTICIPANT_STATUS_COMPLETE
    assert gone.leave_reason == S.PARTICIPANT_LEAVE_REASON_PARTICIPANT_UPDATED_VIA_API
    await expect_error(fetch(harness, a.conference_sid, a.call_sid), grpc.StatusCode.NOT_FOUND)
    ended = await fetch(harness, a.conference_sid, a.call_sid, include_ended=True)
    assert ended.status == S.PARTICIPANT_STATUS_COMPLETE
    await expect_error(
        harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(
                name=harness.name(a.conference_sid, a.call_sid), muted=True
            ),
            metadata=harness.md(),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await harness.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=harness.name(b.conference_sid, b.call_sid)),
        metadata=harness.md(),
    )
    error = await expect_error(
        create(harness, a.conference_sid), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error.twilio_code == 16022
    fresh = (await create(harness, "room")).participant
    assert fresh.conference_sid != a.conference_sid  # the name starts a new conference


async def test_end_conference_on_exit_removes_everyone(harness: Harness) -> None:
    host = (await create(harness, "room", end_conference_on_exit=True)).participant
    guests = [(await create(harness, "room")).participant for _ in range(3)]
    await harness.advance(3)
    await harness.stub.DeleteParticipant(
        pb.DeleteParticipantRequest(name=harness.name(host.conference_sid, host.call_sid)),
        metadata=harness.md(),
    )
    assert await list_all(harness, host.conference_sid) == []
    history = await list_all(harness, host.conference_sid, include_ended=True)
    assert len(history) == 4
    for guest in guests:
        final = await fetch(harness, host.conference_sid, guest.call_sid, include_ended=True)
        assert final.status == S.PARTICIPANT_STATUS_COMPLETE
        assert final.leave_reason == S.PARTICIPANT_LEAVE_REASON_MODERATOR_ENDED_CONFERENCE


async def test_list_filters_and_pages(harness: Harness) -> None:
    made = []
    for i in range(7):
        made.append((await create(harness, "big", muted=i % 2 == 0, label=f"p{i}")).participant)
    conf = made[0].conference_sid
    muted = await list_all(harness, conf, muted=True, page_size=2)
    assert [p.label for p in muted] == ["p0", "p2", "p4", "p6"]
    first = await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=harness.parent(conf), page_size=3), metadata=harness.md()
    )
    assert [p.label for p in first.participants] == [
        "p0",
        "p1",
        "p2",
    ] and not first.previous_page_token
    second = await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(
            parent=harness.parent(conf), page_size=3, page_token=first.next_page_token
        ),
        metadata=harness.md(),
    )
    assert [p.label for p in second.participants] == ["p3", "p4", "p5"]
    back = await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(
            parent=harness.parent(conf), page_size=3, page_token=second.previous_page_token
        ),
        metadata=harness.md(),
    )
    assert [p.label for p in back.participants] == ["p0", "p1", "p2"]
    assert await list_all(harness, conf, hold=True) == []
    assert len(await list_all(harness, conf, coaching=False)) == 7
    for bad in ({"page_size": 1001}, {"page_size": -1}, {"page_token": "garbage"}):
        await expect_error(
            harness.stub.ListParticipants(
                pb.ListParticipantsRequest(parent=harness.parent(conf), **bad),
                metadata=harness.md(),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )


async def test_repeated_request_id_returns_first_and_dials_once(harness: Harness) -> None:
    first = (await create(harness, "room", request_id="req-1")).participant
    again = (await create(harness, "room", request_id="req-1")).participant
    assert again.call_sid == first.call_sid
    assert isinstance(harness.app.carrier, SimulatedCarrier)
    assert harness.app.carrier.calls_in_flight() == 1
    assert len(await list_all(harness, first.conference_sid)) == 1
    error = await expect_error(
        create(harness, "room", request_id="req-1", muted=True), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert error.reason == "REQUEST_ID_REUSED"
