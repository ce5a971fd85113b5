"""Keyword arguments -> request message fields, for the client and the CLI.

Rule 1: the request messages in rollcall.v1 are the only list of fields; a
keyword argument is set on the field of the same name, and None means "leave
unset".
Rule 2: enums take a Twilio word, a proto name or a number (clients.words);
repeated enum fields take a list or one space- or comma-separated string, as
Twilio's API does.
Rule 3: the TypedDicts below only give type checkers a view of those fields,
and a unit test keeps them equal to the messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from clients.words import enum_number
from rollcall.v1.participant_service_pb2 import ConferenceAlerts

__all__ = [
    "CreateFields",
    "EnumArg",
    "EnumList",
    "FieldValueError",
    "UpdateFields",
    "attribute_pairs",
    "descriptor_of",
    "field_by_name",
    "parse_text",
    "set_fields",
]

EnumArg = int | str
EnumList = Sequence[EnumArg] | str


class CreateFields(TypedDict, total=False):
    """CreateParticipantRequest fields besides parent, request_id, from and to."""

    status_callback: str
    status_callback_method: EnumArg
    status_callback_event: EnumList
    label: str
    timeout: int
    record: bool
    muted: bool
    beep: EnumArg
    start_conference_on_enter: bool
    end_conference_on_exit: bool
    wait_url: str
    wait_method: EnumArg
    early_media: bool
    max_participants: int
    conference_record: EnumArg
    conference_trim: EnumArg
    conference_status_callback: str
    conference_status_callback_method: EnumArg
    conference_status_callback_event: EnumList
    recording_channels: EnumArg
    recording_status_callback: str
    recording_status_callback_method: EnumArg
    sip_auth_username: str
    sip_auth_password: str
    region: EnumArg
    conference_recording_status_callback: str
    conference_recording_status_callback_method: EnumArg
    recording_status_callback_event: EnumList
    conference_recording_status_callback_event: EnumList
    coaching: bool
    call_sid_to_coach: str
    jitter_buffer_size: EnumArg
    byoc: str
    caller_id: str
    call_reason: str
    recording_track: EnumArg
    time_limit: int
    machine_detection: EnumArg
    machine_detection_timeout: int
    machine_detection_speech_threshold: int
    machine_detection_speech_end_threshold: int
    machine_detection_silence_timeout: int
    amd_status_callback: str
    amd_status_callback_method: EnumArg
    trim: EnumArg
    call_token: str
    client_notification_url: str
    caller_display_name: str
    role: EnumArg
    whisper_targets: Sequence[str]
    # The participant's own key/value attributes (never sent to the carrier).
    attributes: Mapping[str, str]
    # The conference's alert timers (when this participant creates it).
    alerts: ConferenceAlerts


class UpdateFields(TypedDict, total=False):
    """UpdateParticipantRequest fields besides name and etag."""

    muted: bool
    hold: bool
    hold_url: str
    hold_method: EnumArg
    announce_url: str
    announce_method: EnumArg
    wait_url: str
    wait_method: EnumArg
    beep_on_exit: bool
    end_conference_on_exit: bool
    coaching: bool
    call_sid_to_coach: str
    role: EnumArg
    whisper_targets: Sequence[str]
    # Merged into the participant's; an empty value removes its key.
    attributes: Mapping[str, str]
    # Replace them all with `attributes` instead.
    replace_attributes: bool


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
    }
)


def descriptor_of(message: Message) -> Descriptor:
    # The stubs also allow upb's descriptor class; it has the same interface.
    return cast(Descriptor, message.DESCRIPTOR)


def field_by_name(descriptor: Descriptor, name: str) -> FieldDescriptor:
    """A field by proto name, Twilio wire name ("StatusCallbackMethod") or flag
    spelling ("status-callback-method"); From and To map to the *_endpoint fields.
    Raises KeyError when the message has no such field."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).replace("-", "_").lower()
    snake = {"from": "from_endpoint", "to": "to_endpoint"}.get(snake, snake)
    field = descriptor.fields_by_name.get(snake)
    if field is None:
        raise KeyError(f"{descriptor.name} has no field {name!r}")
    return field


def _words(text: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", text) if item]


def _split(value: object) -> list[object]:
    if isinstance(value, str):
        return list(_words(value))
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def _enum(field: FieldDescriptor) -> EnumDescriptor:
    assert field.enum_type is not None
    return field.enum_type


def _scalar(field: FieldDescriptor, value: object) -> object:
    if field.type == FieldDescriptor.TYPE_ENUM:
        if not isinstance(value, int | str):
            raise TypeError(f"{field.name}: expected a word or a number, not {value!r}")
        return enum_number(_enum(field), value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise TypeError(f"{field.name}: expected a bool, not {value!r}")
    elif field.type in _INTEGER_TYPES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{field.name}: expected an int, not {value!r}")
    elif field.type == FieldDescriptor.TYPE_STRING and not isinstance(value, str):
        raise TypeError(f"{field.name}: expected a str, not {value!r}")
    return value


def _is_map(field: FieldDescriptor) -> bool:
    entry = field.message_type
    return entry is not None and entry.GetOptions().map_entry


class FieldValueError(ValueError):
    """A value a field does not take; `field` names the field (the CLI names
    its flag instead)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def set_fields(message: Message, fields: Mapping[str, object]) -> None:
    """Set each keyword on the field of the same name; None leaves it unset.

    Raises TypeError for an unknown field or a value of the wrong type, and
    ValueError for an enum word the field does not know.
    """
    descriptor = descriptor_of(message)
    for name, value in fields.items():
        if value is None:
            continue
        field = descriptor.fields_by_name.get(name)
        if field is None:
            raise TypeError(f"{descriptor.name} has no field {name!r}")
        try:
            if isinstance(value, Message):
                getattr(message, name).CopyFrom(value)
            elif _is_map(field):
                if not isinstance(value, Mapping):
                    raise TypeError(f"{name}: expected a mapping, not {value!r}")
                getattr(message, name).update({str(k): str(v) for k, v in value.items()})
            elif field.is_repeated:
                getattr(message, name).extend(_scalar(field, item) for item in _split(value))
            else:
                setattr(message, name, _scalar(field, value))
        except FieldValueError:
            raise
        except ValueError as exc:
            raise FieldValueError(name, str(exc)) from exc


def parse_text(field: FieldDescriptor, raw: str) -> object:
    """The typed value of a field given as text (a CLI flag); ValueError if bad.

    Enum words are checked here; repeated fields give a list of words.
    """
    if field.is_repeated:
        return [_parse_scalar(field, item) for item in _words(raw)]
    return _parse_scalar(field, raw)


def _parse_scalar(field: FieldDescriptor, raw: str) -> object:
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum_number(_enum(field), raw)
        return raw
    if field.type == FieldDescriptor.TYPE_BOOL:
        word = raw.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise ValueError(f"{field.name}: expected true or false, not {raw!r}")
    if field.type in _INTEGER_TYPES:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{field.name}: expected an integer, not {raw!r}") from None
    return raw


def attribute_pairs(attributes: Iterable[str]) -> list[str]:
    """`key=value` filters: one given bare is one, not a sequence of characters."""
    return [attributes] if isinstance(attributes, str) else list(attributes)
