"""Unit tests of service.gateway.forms: Twilio wire values -> typed requests, read
through the Participant Create form's table (service.gateway.participant_forms)."""

from __future__ import annotations

import pytest

from rollcall.v1 import enums_pb2
from service.core.errors import Code
from service.gateway import participant_forms
from tests.unit.gateway.participant_form_calls import PARENT, create, create_error, form


def test_sdk_capture_create_maps_every_kind_of_value() -> None:
    # python_sdk.md capture #18, plus a repeated-key list.
    request = participant_forms.parse_create(
        form(
            ("From", "client:alice"),
            ("To", "sip:bob@example.com"),
            ("StatusCallbackEvent", "initiated ringing"),
            ("Label", ""),
            ("Timeout", "15"),
            ("Beep", "onEnter"),
            ("EarlyMedia", "false"),
            ("MaxParticipants", "10"),
            ("ConferenceStatusCallbackEvent", "start"),
            ("ConferenceStatusCallbackEvent", "end"),
            ("ConferenceStatusCallbackEvent", "join"),
        ),
        parent=PARENT,
        request_id="retry-1",
    )
    assert request.parent == PARENT
    assert request.request_id == "retry-1"
    assert request.from_endpoint == "client:alice"
    assert request.to_endpoint == "sip:bob@example.com"
    assert list(request.status_callback_event) == [
        enums_pb2.CALL_EVENT_INITIATED,
        enums_pb2.CALL_EVENT_RINGING,
    ]
    assert not request.HasField("label")  # Label= means "no label"
    assert request.timeout == 15
    assert request.beep == enums_pb2.BEEP_ON_ENTER
    assert request.HasField("early_media")
    assert request.early_media is False
    assert request.max_participants == 10
    assert list(request.conference_status_callback_event) == [
        enums_pb2.CONFERENCE_CALLBACK_EVENT_START,
        enums_pb2.CONFERENCE_CALLBACK_EVENT_END,
        enums_pb2.CONFERENCE_CALLBACK_EVENT_JOIN,
    ]


def test_lists_union_repeated_keys_and_space_separated_words() -> None:
    request = create(
        ("StatusCallbackEvent", "initiated ringing"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered  completed"),
        ("RecordingStatusCallbackEvent", "in-progress completed"),
        ("RecordingStatusCallbackEvent", "failed"),
    )
    assert list(request.status_callback_event) == [
        enums_pb2.CALL_EVENT_INITIATED,
        enums_pb2.CALL_EVENT_RINGING,
        enums_pb2.CALL_EVENT_ANSWERED,
        enums_pb2.CALL_EVENT_COMPLETED,
    ]
    assert list(request.recording_status_callback_event) == [
        enums_pb2.RECORDING_EVENT_IN_PROGRESS,
        enums_pb2.RECORDING_EVENT_COMPLETED,
        enums_pb2.RECORDING_EVENT_FAILED,
    ]


@pytest.mark.parametrize(
    ("wire", "expected"), [("true", True), ("True", True), ("TRUE", True), ("false", False)]
)
def test_booleans_are_case_insensitive(wire: str, expected: bool) -> None:
    request = create(("Muted", wire), ("Record", wire), ("StartConferenceOnEnter", wire))
    assert request.HasField("muted")
    assert request.muted is expected
    assert request.record is expected
    assert request.start_conference_on_enter is expected


def test_unset_booleans_stay_unset() -> None:
    request = create(("From", "+15005550006"))
    for field in ("muted", "record", "early_media", "coaching", "start_conference_on_enter"):
        assert not request.HasField(field)


@pytest.mark.parametrize(
    ("wire", "field", "expected"),
    [
        ("Beep", "beep", {"true": 1, "false": 2, "onEnter": 3, "onExit": 4, "ONEXIT": 4}),
        (
            "ConferenceRecord",
            "conference_record",
            {"true": 1, "false": 2, "record-from-start": 3, "do-not-record": 4},
        ),
        ("ConferenceTrim", "conference_trim", {"trim-silence": 1, "do-not-trim": 2}),
        ("Trim", "trim", {"trim-silence": 1, "do-not-trim": 2}),
        ("RecordingChannels", "recording_channels", {"mono": 1, "dual": 2}),
        ("Region", "region", {"us1": 1, "ie1": 3, "jp1": 8}),
        ("JitterBufferSize", "jitter_buffer_size", {"off": 1, "large": 4}),
        ("RecordingTrack", "recording_track", {"inbound": 1, "both": 3}),
        ("MachineDetection", "machine_detection", {"Enable": 1, "DetectMessageEnd": 2}),
        ("StatusCallbackMethod", "status_callback_method", {"GET": 1, "post": 2, "Get": 1}),
        ("AmdStatusCallbackMethod", "amd_status_callback_method", {"POST": 2}),
    ],
)
def test_enum_words_map_to_proto_values(wire: str, field: str, expected: dict[str, int]) -> None:
    for word, number in expected.items():
        assert getattr(create((wire, word)), field) == number, word


def test_integers_arrive_as_decimal_text() -> None:
    request = create(
        ("Timeout", "30"),
        ("TimeLimit", "+600"),
        ("MachineDetectionTimeout", "45"),
        ("MachineDetectionSpeechThreshold", "2400"),
        ("MachineDetectionSpeechEndThreshold", "1200"),
        ("MachineDetectionSilenceTimeout", "5000"),
    )
    assert (request.timeout, request.time_limit) == (30, 600)
    assert request.machine_detection_timeout == 45
    assert request.machine_detection_speech_threshold == 2400
    assert request.machine_detection_speech_end_threshold == 1200
    assert request.machine_detection_silence_timeout == 5000


def test_out_of_range_integers_are_left_to_the_service() -> None:
    # Range rules (Timeout 5-600) are the service's, so REST and gRPC agree.
    assert create(("Timeout", "4")).timeout == 4


def test_empty_wait_url_is_meaningful_but_other_empty_values_are_absent() -> None:
    request = create(
        ("WaitUrl", ""),
        ("Label", ""),
        ("Timeout", ""),
        ("Beep", ""),
        ("Muted", ""),
        ("StatusCallbackEvent", ""),
    )
    assert request.HasField("wait_url")
    assert request.wait_url == ""
    assert not request.HasField("label")
    assert not request.HasField("timeout")
    assert not request.HasField("muted")
    assert request.beep == enums_pb2.BEEP_UNSPECIFIED
    assert list(request.status_callback_event) == []


def test_unknown_fields_are_ignored() -> None:
    request = create(
        ("From", "+15005550006"),
        ("EmergencyCallerPosition", "x"),
        ("Passports", "YWJj"),
        ("RecordingConfigurationId", "RC123"),
        ("AsyncAmd", "true"),
    )
    assert request.from_endpoint == "+15005550006"


def test_a_single_valued_field_sent_twice_takes_the_last_value() -> None:
    assert create(("Muted", "false"), ("Muted", "true")).muted is True


@pytest.mark.parametrize(
    ("pairs", "field", "twilio_code"),
    [
        ((("Timeout", "abc"),), "Timeout", None),
        ((("Timeout", "1.5"),), "Timeout", None),
        ((("Timeout", "99999999999"),), "Timeout", None),
        ((("Beep", "maybe"),), "Beep", None),
        ((("Muted", "yes"),), "Muted", None),
        ((("StatusCallbackEvent", "initiated bogus"),), "StatusCallbackEvent", None),
        ((("StatusCallbackMethod", "PUT"),), "StatusCallbackMethod", None),
        ((("MaxParticipants", "lots"),), "MaxParticipants", 16002),
        ((("ConferenceRecord", "always"),), "ConferenceRecord", 16002),
        ((("Region", "mars1"),), "Region", 16002),
        ((("MachineDetection", "Maybe"),), "MachineDetection", 21263),
    ],
)
def test_bad_values_are_invalid_argument_naming_the_wire_field(
    pairs: tuple[tuple[str, str], ...], field: str, twilio_code: int | None
) -> None:
    error = create_error(*pairs)
    assert error.code is Code.INVALID_ARGUMENT
    assert error.http_status == 400
    assert error.twilio_code == twilio_code
    assert [v.field for v in error.violations] == [field]
    assert field in error.message


def test_every_bad_field_is_named_in_one_error() -> None:
    error = create_error(("Timeout", "x"), ("Beep", "maybe"), ("Record", "nope"), ("From", "ok"))
    assert sorted(v.field for v in error.violations) == ["Beep", "Record", "Timeout"]
