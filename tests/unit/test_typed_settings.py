"""Typed settings: a Create's status callbacks and region are kept in typed
fields in Twilio's words; rows stored before (a proto-JSON settings bag with
enum names) still read, lifted into the same fields."""

from __future__ import annotations

import orjson

from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.commands import ConferenceRef
from service.core.model import Conference, Participant, StatusCallback
from service.rpc.requests import create_command

AC = "AC" + "a" * 32


def test_a_create_keeps_callbacks_and_region_in_twilio_words() -> None:
    request = pb.CreateParticipantRequest(
        parent=f"accounts/{AC}/conferences/room",
        from_endpoint="+15005550006",
        to_endpoint="+15551234567",
        status_callback="https://example.com/call",
        status_callback_method=enums_pb2.HTTP_METHOD_GET,
        status_callback_event=[enums_pb2.CALL_EVENT_RINGING, enums_pb2.CALL_EVENT_ANSWERED],
        conference_status_callback="https://example.com/conf",
        conference_status_callback_event=[enums_pb2.CONFERENCE_CALLBACK_EVENT_JOIN],
        region=enums_pb2.REGION_IE1,
        conference_record=enums_pb2.CONFERENCE_RECORD_RECORD_FROM_START,
    )
    cmd = create_command(request, ConferenceRef(AC, "room"))
    assert cmd.status_callback == StatusCallback(
        "https://example.com/call", "GET", ("ringing", "answered")
    )
    assert cmd.conference_status_callback == StatusCallback(
        "https://example.com/conf", "POST", ("join",)
    )
    assert cmd.region == "ie1"
    # Typed parameters are not repeated in the bags.
    assert "status_callback" not in cmd.settings
    assert "region" not in cmd.settings
    assert "conference_status_callback" not in cmd.conference_settings
    assert "conference_record" in cmd.conference_settings


def test_a_row_stored_before_typed_settings_still_reads() -> None:
    old_participant = {
        "call_sid": "CA" + "1" * 32,
        "account_sid": AC,
        "conference_sid": "CF" + "2" * 32,
        "conference_friendly_name": "room",
        "label": None,
        "status": "connected",
        "call_status": "in-progress",
        "from_endpoint": "+15005550006",
        "to_endpoint": "+15551234567",
        "date_created": 1.0,
        "date_updated": 1.0,
        "revision": 3,
        "settings": {
            "status_callback": "https://example.com/call",
            "status_callback_method": "HTTP_METHOD_GET",
            "status_callback_event": ["CALL_EVENT_RINGING", "CALL_EVENT_COMPLETED"],
        },
    }
    p = Participant.from_dict(old_participant)
    assert p.status_callback == StatusCallback(
        "https://example.com/call", "GET", ("ringing", "completed")
    )
    old_conference = {
        "sid": "CF" + "2" * 32,
        "account_sid": AC,
        "friendly_name": "room",
        "status": "in-progress",
        "revision": 3,
        "max_participants": 250,
        "date_created": 1.0,
        "date_updated": 1.0,
        "settings": {
            "conference_status_callback": "https://example.com/conf",
            "conference_status_callback_event": ["CONFERENCE_CALLBACK_EVENT_LEAVE"],
            "region": "REGION_AU1",
        },
    }
    c = Conference.from_dict(old_conference)
    assert c.status_callback == StatusCallback("https://example.com/conf", "POST", ("leave",))
    assert c.region == "au1"


def test_typed_settings_round_trip_through_the_stored_json() -> None:
    p = Participant.from_dict(
        {
            "call_sid": "CA" + "1" * 32,
            "account_sid": AC,
            "conference_sid": "CF" + "2" * 32,
            "conference_friendly_name": "room",
            "label": None,
            "status": "queued",
            "call_status": "queued",
            "from_endpoint": "+15005550006",
            "to_endpoint": "+15551234567",
            "date_created": 1.0,
            "date_updated": 1.0,
            "revision": 1,
            "status_callback": {"url": "https://x.example", "method": "GET", "events": ["ringing"]},
        }
    )
    again = Participant.from_dict(orjson.loads(orjson.dumps(p.to_dict())))
    assert again == p
