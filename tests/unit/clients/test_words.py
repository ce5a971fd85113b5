"""Enum words: what clients.words accepts and spells."""

from __future__ import annotations

import pytest

from clients.words import enum_number, enum_word, enum_words
from rollcall.v1 import enums_pb2 as en
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb


@pytest.mark.parametrize(
    ("enum", "value", "number"),
    [
        (en.CallEvent, "ringing", en.CALL_EVENT_RINGING),
        (en.CallEvent, "RINGING", en.CALL_EVENT_RINGING),
        (en.CallEvent, "CALL_EVENT_RINGING", en.CALL_EVENT_RINGING),
        (en.CallEvent, en.CALL_EVENT_ANSWERED, en.CALL_EVENT_ANSWERED),
        (en.CallEvent, "3", en.CALL_EVENT_ANSWERED),
        (en.Beep, "onEnter", en.BEEP_ON_ENTER),
        (en.Beep, "on-exit", en.BEEP_ON_EXIT),
        (en.Beep, "true", en.BEEP_TRUE),
        (en.Beep, False, en.BEEP_FALSE),
        (en.HttpMethod, "GET", en.HTTP_METHOD_GET),
        (en.HttpMethod, "post", en.HTTP_METHOD_POST),
        (en.RecordingEvent, "in-progress", en.RECORDING_EVENT_IN_PROGRESS),
        (en.ConferenceRecord, "record-from-start", en.CONFERENCE_RECORD_RECORD_FROM_START),
        (en.Trim, "trim-silence", en.TRIM_TRIM_SILENCE),
        (en.MachineDetection, "DetectMessageEnd", en.MACHINE_DETECTION_DETECT_MESSAGE_END),
        (en.Region, "ie1", en.REGION_IE1),
        (en.JitterBufferSize, " large ", en.JITTER_BUFFER_SIZE_LARGE),
    ],
)
def test_enum_number_accepts_twilio_words_proto_names_and_numbers(
    enum: object, value: int | str, number: int
) -> None:
    assert enum_number(enum.DESCRIPTOR, value) == number  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["ring", "", "CALL_EVENT", 99, "99", True])
def test_enum_number_refuses_unknown_values_naming_the_words(value: int | str) -> None:
    with pytest.raises(ValueError, match="initiated, ringing, answered, completed"):
        enum_number(en.CallEvent.DESCRIPTOR, value)


def test_enum_number_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        enum_number(en.CallEvent.DESCRIPTOR, 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("enum", "number", "word"),
    [
        (en.HttpMethod, en.HTTP_METHOD_GET, "GET"),
        (en.Beep, en.BEEP_ON_ENTER, "onEnter"),
        (en.MachineDetection, en.MACHINE_DETECTION_DETECT_MESSAGE_END, "DetectMessageEnd"),
        (en.RecordingEvent, en.RECORDING_EVENT_IN_PROGRESS, "in-progress"),
        (ppb.ParticipantStatus, ppb.PARTICIPANT_STATUS_CONNECTED, "connected"),
        (ppb.CallStatus, ppb.CALL_STATUS_NO_ANSWER, "no-answer"),
        (
            ppb.ParticipantLeaveReason,
            ppb.PARTICIPANT_LEAVE_REASON_PARTICIPANT_HUNG_UP,
            "participant_hung_up",
        ),
        (
            ppb.ConferenceEndReason,
            ppb.CONFERENCE_END_REASON_LAST_PARTICIPANT_LEFT,
            "last-participant-left",
        ),
        (ppb.CallStatus, 0, ""),
        (ppb.CallStatus, 77, "77"),
    ],
)
def test_enum_word_spells_values_as_twilio_does(enum: object, number: int, word: str) -> None:
    assert enum_word(enum.DESCRIPTOR, number) == word  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "enum", [en.HttpMethod, en.Beep, en.RecordingEvent, en.MachineDetection, ppb.CallStatus]
)
def test_every_word_converts_back_to_its_number(enum: object) -> None:
    descriptor = enum.DESCRIPTOR  # type: ignore[attr-defined]
    for value in descriptor.values[1:]:
        assert enum_number(descriptor, enum_word(descriptor, value.number)) == value.number
    assert len(enum_words(descriptor)) == len(descriptor.values) - 1


def test_event_types_are_named_by_twilios_callback_words() -> None:
    types = pb.ConferenceEventType.DESCRIPTOR
    joined = pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED
    assert enum_word(types, joined) == "participant-join"
    assert enum_word(types, pb.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED) == "call-status-changed"
    for name in (
        "participant-join",
        "participant-joined",
        "CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED",
    ):
        assert enum_number(types, name) == joined
