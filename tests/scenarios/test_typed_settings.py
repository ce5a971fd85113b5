"""Typed settings: a Create's status callbacks and region are kept in typed
fields in Twilio's words, and the rest of its parameters (recording, trim,
jitter buffer, beep, machine detection...) in the settings bags, also in
Twilio's words (clients.words.twilio_settings); rows stored before (a
proto-JSON settings bag with enum names) still read, their callbacks and
region lifted into the same fields and words."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from clients.words import twilio_settings
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.commands import ConferenceRef
from service.core.records import Conference, Participant, StatusCallback
from service.gateway.forms import ENUM_WORDS
from service.rpc.create_request import create_command

AC = "AC" + "a" * 32


def _old_participant(settings: dict[str, Any]) -> dict[str, Any]:
    """A participant row as stored before typed settings."""
    return {
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
        "settings": settings,
    }


def _old_conference(settings: dict[str, Any]) -> dict[str, Any]:
    """A conference row as stored before typed settings."""
    return {
        "sid": "CF" + "2" * 32,
        "account_sid": AC,
        "friendly_name": "room",
        "status": "in-progress",
        "revision": 3,
        "max_participants": 250,
        "date_created": 1.0,
        "date_updated": 1.0,
        "settings": settings,
    }


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
    old_participant = _old_participant(
        {
            "status_callback": "https://example.com/call",
            "status_callback_method": "HTTP_METHOD_GET",
            "status_callback_event": ["CALL_EVENT_RINGING", "CALL_EVENT_COMPLETED"],
        }
    )
    p = Participant.from_dict(old_participant)
    assert p.status_callback == StatusCallback(
        "https://example.com/call", "GET", ("ringing", "completed")
    )
    old_conference = _old_conference(
        {
            "conference_status_callback": "https://example.com/conf",
            "conference_status_callback_event": ["CONFERENCE_CALLBACK_EVENT_LEAVE"],
            "region": "REGION_AU1",
        }
    )
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


# -- the rest of the parameters, in the settings bags -------------------------

_CREATE = pb.CreateParticipantRequest.DESCRIPTOR
_CREATE_ENUMS = [f for f in _CREATE.fields if f.enum_type is not None]


@pytest.mark.parametrize("field", _CREATE_ENUMS, ids=lambda f: f.name)
def test_every_proto_name_becomes_the_word_the_gateway_reads(field: Any) -> None:
    """Each value's word is one of Twilio's words for that enum, as the REST
    gateway accepts them (its table is Twilio's spelling), and reads back to
    the same value there."""
    words = ENUM_WORDS[field.enum_type.name]
    for value in field.enum_type.values:
        if value.number == 0:
            continue
        word = twilio_settings({field.name: value.name}, _CREATE)[field.name]
        assert word in words, (field.name, value.name, word)
        assert twilio_settings({field.name: word}, _CREATE)[field.name] == word  # a word already


def test_a_create_stores_twilio_words_in_both_bags() -> None:
    request = pb.CreateParticipantRequest(
        parent=f"accounts/{AC}/conferences/room",
        from_endpoint="+15005550006",
        to_endpoint="+15551234567",
        beep=enums_pb2.BEEP_ON_ENTER,
        jitter_buffer_size=enums_pb2.JITTER_BUFFER_SIZE_LARGE,
        machine_detection=enums_pb2.MACHINE_DETECTION_DETECT_MESSAGE_END,
        recording_status_callback_event=[
            enums_pb2.RECORDING_EVENT_IN_PROGRESS,
            enums_pb2.RECORDING_EVENT_COMPLETED,
        ],
        recording_status_callback_method=enums_pb2.HTTP_METHOD_GET,
        trim=enums_pb2.TRIM_DO_NOT_TRIM,
        recording_track=enums_pb2.RECORDING_TRACK_BOTH,
        conference_record=enums_pb2.CONFERENCE_RECORD_RECORD_FROM_START,
        conference_trim=enums_pb2.TRIM_TRIM_SILENCE,
        max_participants=10,
        timeout=30,
    )
    cmd = create_command(request, ConferenceRef(AC, "room"))
    assert cmd.settings["beep"] == "onEnter"
    assert cmd.settings["jitter_buffer_size"] == "large"
    assert cmd.settings["machine_detection"] == "DetectMessageEnd"
    assert cmd.settings["recording_status_callback_event"] == ["in-progress", "completed"]
    assert cmd.settings["recording_status_callback_method"] == "GET"
    assert cmd.settings["trim"] == "do-not-trim"
    assert cmd.settings["recording_track"] == "both"
    assert cmd.settings["timeout"] == 30  # not an enum: as sent
    assert cmd.conference_settings == {
        "conference_record": "record-from-start",
        "conference_trim": "trim-silence",
        "max_participants": 10,
    }


def test_proto_enum_names_in_a_bag_become_twilio_words() -> None:
    bag = {
        "status_callback_event": ["CALL_EVENT_RINGING"],
        "beep": "BEEP_ON_EXIT",
        "machine_detection": "MACHINE_DETECTION_ENABLE",
        "jitter_buffer_size": "JITTER_BUFFER_SIZE_OFF",
        "recording_channels": "RECORDING_CHANNELS_DUAL",
        "wait_url": "https://example.com/WAIT_URL_",
        "conference_record": "CONFERENCE_RECORD_DO_NOT_RECORD",
        "conference_recording_status_callback_event": ["RECORDING_EVENT_ABSENT"],
        "timeout": 30,
    }
    assert twilio_settings(bag, _CREATE) == {
        "status_callback_event": ["ringing"],
        "beep": "onExit",
        "machine_detection": "Enable",
        "jitter_buffer_size": "off",
        "recording_channels": "dual",
        "wait_url": "https://example.com/WAIT_URL_",
        "conference_record": "do-not-record",
        "conference_recording_status_callback_event": ["absent"],
        "timeout": 30,
    }


def test_a_stored_bag_round_trips_through_the_stored_json() -> None:
    p = Participant.from_dict(_old_participant({"beep": "onEnter", "trim": "trim-silence"}))
    again = Participant.from_dict(orjson.loads(orjson.dumps(p.to_dict())))
    assert again == p
    assert again.settings == {"beep": "onEnter", "trim": "trim-silence"}


def test_a_bag_with_nothing_to_change_is_kept() -> None:
    bag = {"beep": "onEnter", "timeout": 30}
    assert twilio_settings(bag, _CREATE) is bag
