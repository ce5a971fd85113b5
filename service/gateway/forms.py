"""Twilio's form fields and query parameters -> ParticipantService requests.

Rule 1: each wire field is one row of a table (Twilio's PascalCase name, the
proto field it fills, and its few quirks); how a value is parsed follows from
the proto field's type, never from per-field code.
Rule 2: values are read the way the Twilio SDKs send them: booleans and enum
words (Twilio's, from clients.words) case-insensitively, lists as repeated
keys or space-separated words (the union of both), integers as decimal text,
and an empty string as "not given" except where Twilio gives it a meaning
(WaitUrl, HoldUrl, AnnounceUrl).
Rule 3: unknown fields are ignored; every unparseable field is named in one
INVALID_ARGUMENT (HTTP 400); range and cross-field rules belong to the
service, so REST and gRPC agree on them.
Rule 4: Rollcall's own fields, which the Twilio SDKs never send: `Attribute`
(repeated, each `key=value`) on Create, Update (where `key=` removes the key,
and `ReplaceAttributes=true` replaces them all) and as a List filter; the
conference's alerts on Create (`AlertHoldSeconds`, `AlertDurationSeconds`,
`AlertEmptySeconds`, `AlertNoAgentSeconds`, `AlertAgentAttribute`,
`AlertEndConference`), checked by the service.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from multidict import MultiMapping

from clients.words import enum_words, words_by_number
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import FieldViolation, invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Twilio's catalogue codes for a bad value, where one fits better than the
# generic 400: conference-level attributes, and answering-machine detection.
_CONFERENCE_ATTRIBUTES = 16002
_AMD_PARAMETERS = 21263


def _snake(camel: str) -> str:
    """`StatusCallbackEvent` -> `status_callback_event`; `onEnter` -> `on_enter`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).replace("-", "_").lower()


@dataclasses.dataclass(frozen=True)
class FormField:
    """One wire field: Twilio's name, the proto field (derived when empty), quirks."""

    wire: str
    proto: str = ""
    # An empty value is meaningful ("play nothing") and is sent as set-but-empty.
    keep_empty: bool = False
    # Twilio code for an unparseable value; 0 means the generic 400.
    twilio_code: int = 0
    # A boolean Twilio documents as "anything other than true or false is
    # interpreted as false" (Update's Muted): never refused.
    false_unless_true: bool = False

    def __post_init__(self) -> None:
        if not self.proto:
            object.__setattr__(self, "proto", _snake(self.wire))


# Rollcall's own fields (docs/rest.md), prefixed so no Twilio field can clash
# and ignored by Twilio itself: the supervisor role and its whisper targets.
ROLLCALL_ROLE_FIELDS = (
    FormField("RollcallRole", "role"),
    FormField("RollcallWhisperTargets", "whisper_targets"),
)

CREATE_FIELDS: tuple[FormField, ...] = (
    FormField("From", "from_endpoint"),
    FormField("To", "to_endpoint"),
    FormField("StatusCallback"),
    FormField("StatusCallbackMethod"),
    FormField("StatusCallbackEvent"),
    FormField("Label"),
    FormField("Timeout"),
    FormField("Record"),
    FormField("Muted"),
    FormField("Beep"),
    FormField("StartConferenceOnEnter"),
    FormField("EndConferenceOnExit"),
    FormField("WaitUrl", keep_empty=True),
    FormField("WaitMethod"),
    FormField("EarlyMedia"),
    FormField("MaxParticipants", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("ConferenceRecord", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("ConferenceTrim", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("ConferenceStatusCallback"),
    FormField("ConferenceStatusCallbackMethod", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("ConferenceStatusCallbackEvent", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("RecordingChannels"),
    FormField("RecordingStatusCallback"),
    FormField("RecordingStatusCallbackMethod"),
    FormField("SipAuthUsername"),
    FormField("SipAuthPassword"),
    FormField("Region", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("ConferenceRecordingStatusCallback"),
    FormField("ConferenceRecordingStatusCallbackMethod", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("RecordingStatusCallbackEvent"),
    FormField("ConferenceRecordingStatusCallbackEvent", twilio_code=_CONFERENCE_ATTRIBUTES),
    FormField("Coaching"),
    FormField("CallSidToCoach"),
    FormField("JitterBufferSize"),
    FormField("Byoc"),
    FormField("CallerId"),
    FormField("CallReason"),
    FormField("RecordingTrack"),
    FormField("TimeLimit"),
    FormField("MachineDetection", twilio_code=_AMD_PARAMETERS),
    FormField("MachineDetectionTimeout", twilio_code=_AMD_PARAMETERS),
    FormField("MachineDetectionSpeechThreshold", twilio_code=_AMD_PARAMETERS),
    FormField("MachineDetectionSpeechEndThreshold", twilio_code=_AMD_PARAMETERS),
    FormField("MachineDetectionSilenceTimeout", twilio_code=_AMD_PARAMETERS),
    FormField("AmdStatusCallback"),
    FormField("AmdStatusCallbackMethod", twilio_code=_AMD_PARAMETERS),
    FormField("Trim"),
    FormField("CallToken"),
    FormField("ClientNotificationUrl"),
    FormField("CallerDisplayName"),
    *ROLLCALL_ROLE_FIELDS,
)

UPDATE_FIELDS: tuple[FormField, ...] = (
    FormField("Muted", false_unless_true=True),
    FormField("Hold"),
    FormField("HoldUrl", keep_empty=True),
    FormField("HoldMethod"),
    FormField("AnnounceUrl", keep_empty=True),
    FormField("AnnounceMethod"),
    FormField("WaitUrl", keep_empty=True),
    FormField("WaitMethod"),
    FormField("BeepOnExit"),
    FormField("EndConferenceOnExit"),
    FormField("Coaching"),
    FormField("CallSidToCoach"),
    *ROLLCALL_ROLE_FIELDS,
)

# Rollcall's own move route (service.gateway.rollcall_routes): Destination is a
# conference SID or friendly name of the caller's account.
MOVE_FIELDS: tuple[FormField, ...] = (
    FormField("Muted"),
    FormField("Hold"),
    FormField("Role", "role"),
    FormField("WhisperTargets", "whisper_targets"),
)

# In the order the SDKs send them, which is also the order page URIs repeat them.
LIST_FILTERS: tuple[FormField, ...] = (
    FormField("Muted"),
    FormField("Hold"),
    FormField("Coaching"),
)

# Proto field -> Twilio's parameter, for naming a bad field in a REST error.
_WIRE_NAMES: dict[str, str] = {}
for _field in (*CREATE_FIELDS, *UPDATE_FIELDS, *LIST_FILTERS):
    _WIRE_NAMES.setdefault(_field.proto, _field.wire)


def twilio_name(field: str) -> str:
    """The Twilio parameter a request field comes from (`to_endpoint` -> `To`);
    a field no form names reads in Twilio's PascalCase (`page_size` -> `PageSize`)."""
    root, dot, rest = field.partition(".")
    if root in _WIRE_NAMES:
        return _WIRE_NAMES[root] + dot + rest
    if not re.fullmatch(r"[a-z][a-z0-9_]*", root):
        return field  # already a wire name (a header, a Twilio parameter)
    return "".join(word.capitalize() for word in root.split("_")) + dot + rest


# Twilio's words for each enum of enums.proto, from clients.words; a word is
# matched case-insensitively (`onenter` is `onEnter`).
ENUM_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(enum_words(enum)) for name, enum in enums_pb2.DESCRIPTOR.enum_types_by_name.items()
}


def _enum_lookup() -> dict[str, dict[str, int]]:
    return {
        name: {word.lower(): number for number, word in words_by_number(enum).items()}
        for name, enum in enums_pb2.DESCRIPTOR.enum_types_by_name.items()
    }


_ENUMS = _enum_lookup()
_BOOLEANS = {"true": True, "false": False}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}


class _BadValue(ValueError):
    """A value that cannot be read as its field's type; the text says why."""


@dataclasses.dataclass(frozen=True)
class _Bound:
    field: FormField
    descriptor: FieldDescriptor


def _enum_name(descriptor: FieldDescriptor) -> str:
    enum_type = descriptor.enum_type
    assert enum_type is not None, descriptor.full_name
    return enum_type.name


def _bind(message: type[Message], fields: Sequence[FormField]) -> tuple[_Bound, ...]:
    """Resolve a table against a message at import time, so a typo fails loudly."""
    bound = []
    for field in fields:
        descriptor = cast(FieldDescriptor, message.DESCRIPTOR.fields_by_name[field.proto])
        if descriptor.type == FieldDescriptor.TYPE_ENUM and _enum_name(descriptor) not in _ENUMS:
            raise LookupError(f"no Twilio words for {_enum_name(descriptor)}")
        bound.append(_Bound(field, descriptor))
    return tuple(bound)


_CREATE = _bind(pb.CreateParticipantRequest, CREATE_FIELDS)
_UPDATE = _bind(pb.UpdateParticipantRequest, UPDATE_FIELDS)
_LIST = _bind(pb.ListParticipantsRequest, LIST_FILTERS)
_MOVE = _bind(pb.MoveParticipantRequest, MOVE_FIELDS)


def _enum_word(descriptor: FieldDescriptor, word: str) -> int:
    enum_name = _enum_name(descriptor)
    try:
        return _ENUMS[enum_name][word.lower()]
    except KeyError:
        choices = ", ".join(ENUM_WORDS[enum_name])
        raise _BadValue(f"{word!r} is not one of: {choices}") from None


def _parse_boolean(value: str) -> bool:
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise _BadValue(f"must be true or false, got {value!r}") from None


def _parse_integer(value: str, low: int = -(2**63), high: int = 2**63 - 1) -> int:
    if not _INTEGER.fullmatch(value):
        raise _BadValue(f"must be an integer, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise _BadValue(f"must be between {low} and {high}, got {value}")
    return number


def _scalar(descriptor: FieldDescriptor, value: str) -> object:
    kind = descriptor.type
    if kind == FieldDescriptor.TYPE_STRING:
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        return _parse_boolean(value)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_word(descriptor, value)
    if kind in _INT_RANGES:
        return _parse_integer(value, *_INT_RANGES[kind])
    raise TypeError(f"no wire parser for {descriptor.full_name}")  # a table bug


def _assign(message: Message, bound: _Bound, values: list[str]) -> None:
    descriptor = bound.descriptor
    if descriptor.is_repeated:
        # Repeated keys and space-separated words are both lists; union them.
        words = dict.fromkeys(word for value in values for word in value.split())
        numbers = [_scalar(descriptor, word) for word in words]
        getattr(message, descriptor.name).extend(dict.fromkeys(numbers))
        return
    value = values[-1]  # a single-valued field sent twice: the last one wins
    if value == "" and not bound.field.keep_empty:
        return
    if bound.field.false_unless_true and descriptor.type == FieldDescriptor.TYPE_BOOL:
        setattr(message, descriptor.name, value.lower() == "true")
        return
    setattr(message, descriptor.name, _scalar(descriptor, value))


def _fill(message: Message, table: Sequence[_Bound], form: MultiMapping[str]) -> None:
    violations: list[FieldViolation] = []
    for bound in table:
        values = form.getall(bound.field.wire, [])
        if not values:
            continue
        try:
            _assign(message, bound, list(values))
        except _BadValue as bad:
            violations.append(FieldViolation(bound.field.wire, str(bad), bound.field.twilio_code))
    if violations:
        raise invalid(violations)


def parse_create(
    form: MultiMapping[str], *, parent: str, request_id: str = ""
) -> pb.CreateParticipantRequest:
    request = pb.CreateParticipantRequest(parent=parent, request_id=request_id)
    _fill(request, _CREATE, form)
    request.attributes.update(_attributes(form))
    _alerts(request, form)
    return request


ATTRIBUTE = "Attribute"
# Rule 4: the conference's alert rules (ConferenceAlerts), when it is created.
_ALERT_SECONDS = {
    "AlertHoldSeconds": "hold_seconds",
    "AlertDurationSeconds": "duration_seconds",
    "AlertEmptySeconds": "empty_seconds",
    "AlertNoAgentSeconds": "no_agent_seconds",
}


def _alerts(request: pb.CreateParticipantRequest, form: MultiMapping[str]) -> None:
    bad: list[FieldViolation] = []
    given = False
    for wire, field in _ALERT_SECONDS.items():
        values = form.getall(wire, [])
        if not values or values[-1] == "":
            continue
        given = True
        try:
            setattr(request.alerts, field, float(values[-1]))
        except ValueError:
            bad.append(FieldViolation(wire, "must be a number of seconds"))
    agent = form.getall("AlertAgentAttribute", [])
    if agent and agent[-1]:
        given = True
        request.alerts.agent_attribute = agent[-1]
    end = form.getall("AlertEndConference", [])
    if end and end[-1]:
        given = True
        try:
            request.alerts.end_conference = _parse_boolean(end[-1])
        except _BadValue as error:
            bad.append(FieldViolation("AlertEndConference", str(error)))
    if bad:
        raise invalid(bad)
    if not given:
        request.ClearField("alerts")


def _attributes(form: MultiMapping[str]) -> dict[str, str]:
    """Rule 4: `Attribute=key=value`, repeated; the last value of a key wins."""
    pairs: dict[str, str] = {}
    for pair in form.getall(ATTRIBUTE, []):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise invalid([FieldViolation(ATTRIBUTE, "each must be key=value")])
        pairs[key] = value
    return pairs


def parse_update(
    form: MultiMapping[str], *, name: str, etag: str = ""
) -> pb.UpdateParticipantRequest:
    request = pb.UpdateParticipantRequest(name=name, etag=etag)
    _fill(request, _UPDATE, form)
    request.attributes.update(_attributes(form))
    replace = form.getall("ReplaceAttributes", [])
    if replace:
        try:
            request.replace_attributes = _parse_boolean(replace[-1])
        except _BadValue as bad:
            raise invalid([FieldViolation("ReplaceAttributes", str(bad))]) from None
    return request


def parse_move(
    form: MultiMapping[str], *, name: str, account: str, etag: str = ""
) -> pb.MoveParticipantRequest:
    destination = form.getall("Destination", [""])[-1]
    if not destination or "/" in destination:
        raise invalid([FieldViolation("Destination", "a conference SID or friendly name")])
    request = pb.MoveParticipantRequest(
        name=name, destination=f"accounts/{account}/conferences/{destination}", etag=etag
    )
    _fill(request, _MOVE, form)
    return request


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """A List request and what its page URIs must repeat."""

    request: pb.ListParticipantsRequest
    # The filters as they go back into every page URI, in wire order.
    filters: tuple[tuple[str, str], ...]
    page_size: int
    # Client state only ("simply for client state", says the spec).
    page: int
    page_token: str


def _paging_number(query: MultiMapping[str], wire: str, default: int) -> int:
    values = query.getall(wire, [])
    if not values or values[-1] == "":
        return default
    try:
        return _parse_integer(values[-1])
    except _BadValue as bad:
        raise invalid([FieldViolation(wire, str(bad))]) from None


def parse_list(query: MultiMapping[str], *, parent: str) -> ListQuery:
    request = pb.ListParticipantsRequest(parent=parent)
    _fill(request, _LIST, query)
    page_size = _paging_number(query, "PageSize", DEFAULT_PAGE_SIZE)
    page = _paging_number(query, "Page", 0)
    if page_size < 1:
        raise invalid([FieldViolation("PageSize", f"must be at least 1, got {page_size}")])
    if page < 0:
        raise invalid([FieldViolation("Page", f"must not be negative, got {page}")])
    # The SDKs send PageSize=limit for list(limit=N) whatever N is: clamp, never refuse.
    page_size = min(page_size, MAX_PAGE_SIZE)
    tokens = query.getall("PageToken", [])
    page_token = tokens[-1] if tokens else ""
    request.page_size = page_size
    request.page_token = page_token
    filters = tuple(
        (bound.field.wire, "true" if getattr(request, bound.descriptor.name) else "false")
        for bound in _LIST
        if cast(Message, request).HasField(bound.descriptor.name)
    )
    # Rule 4: checked by the service, as over gRPC.
    request.attributes.extend(pair for pair in query.getall(ATTRIBUTE, []) if pair)
    filters += tuple((ATTRIBUTE, pair) for pair in request.attributes)
    return ListQuery(request, filters, page_size, page, page_token)
