"""Request fields: what clients.fields accepts (typed fields, set_fields, field names, text)."""

from __future__ import annotations

import pytest

from clients.fields import CreateFields, UpdateFields, field_by_name, parse_text, set_fields
from rollcall.v1 import enums_pb2 as en
from rollcall.v1 import participant_service_pb2 as pb


def test_typed_fields_mirror_the_request_messages() -> None:
    create = set(pb.CreateParticipantRequest.DESCRIPTOR.fields_by_name)
    assert set(CreateFields.__annotations__) == create - {
        "parent",
        "request_id",
        "from_endpoint",
        "to_endpoint",
    }
    update = set(pb.UpdateParticipantRequest.DESCRIPTOR.fields_by_name)
    assert set(UpdateFields.__annotations__) == update - {"name", "etag"}


def test_set_fields_converts_enums_lists_and_skips_none() -> None:
    request = pb.CreateParticipantRequest()
    set_fields(
        request,
        {
            "status_callback_event": "initiated ringing",
            "conference_status_callback_event": ["start", en.CONFERENCE_CALLBACK_EVENT_END],
            "recording_status_callback_event": "in-progress,completed",
            "beep": "onEnter",
            "status_callback_method": "GET",
            "muted": False,
            "timeout": 30,
            "label": None,
        },
    )
    assert list(request.status_callback_event) == [en.CALL_EVENT_INITIATED, en.CALL_EVENT_RINGING]
    assert list(request.conference_status_callback_event) == [
        en.CONFERENCE_CALLBACK_EVENT_START,
        en.CONFERENCE_CALLBACK_EVENT_END,
    ]
    assert list(request.recording_status_callback_event) == [
        en.RECORDING_EVENT_IN_PROGRESS,
        en.RECORDING_EVENT_COMPLETED,
    ]
    assert request.beep == en.BEEP_ON_ENTER
    assert request.status_callback_method == en.HTTP_METHOD_GET
    assert request.HasField("muted") and request.muted is False
    assert request.timeout == 30
    assert not request.HasField("label")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"no_such_field": 1}, TypeError),
        ({"muted": "yes"}, TypeError),
        ({"timeout": True}, TypeError),
        ({"timeout": "30"}, TypeError),
        ({"label": 7}, TypeError),
        ({"beep": "loud"}, ValueError),
        ({"status_callback_event": ["ringing", "bogus"]}, ValueError),
    ],
)
def test_set_fields_refuses_bad_values(fields: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        set_fields(pb.CreateParticipantRequest(), fields)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("max_participants", "max_participants"),
        ("MaxParticipants", "max_participants"),
        ("max-participants", "max_participants"),
        ("From", "from_endpoint"),
        ("To", "to_endpoint"),
        ("StatusCallbackEvent", "status_callback_event"),
    ],
)
def test_field_by_name_accepts_proto_twilio_and_flag_spellings(name: str, field: str) -> None:
    assert field_by_name(pb.CreateParticipantRequest.DESCRIPTOR, name).name == field


def test_field_by_name_refuses_unknown_fields() -> None:
    with pytest.raises(KeyError, match="Nope"):
        field_by_name(pb.CreateParticipantRequest.DESCRIPTOR, "Nope")


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("record", "true", True),
        ("record", "False", False),
        ("max_participants", "10", 10),
        ("beep", "onEnter", "onEnter"),
        ("conference_status_callback_event", "start end", ["start", "end"]),
        ("caller_id", "+15005550006", "+15005550006"),
    ],
)
def test_parse_text_types_values_by_field(name: str, raw: str, value: object) -> None:
    field = pb.CreateParticipantRequest.DESCRIPTOR.fields_by_name[name]
    assert parse_text(field, raw) == value


@pytest.mark.parametrize(
    ("name", "raw"), [("record", "maybe"), ("max_participants", "ten"), ("beep", "loud")]
)
def test_parse_text_refuses_bad_text(name: str, raw: str) -> None:
    field = pb.CreateParticipantRequest.DESCRIPTOR.fields_by_name[name]
    with pytest.raises(ValueError, match=name if name != "beep" else "Beep"):
        parse_text(field, raw)
