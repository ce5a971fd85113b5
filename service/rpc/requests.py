"""Checks every field of a request and turns it into a core command.

Rule 1: bad input is refused before anything changes, with one FieldViolation
per bad field, each carrying Twilio's error code where the catalogue has one
(21205 URLs, 21211/21212 numbers, 16024 labels, 16002 conference attributes,
21263 machine detection).
Rule 2: enum values reach the core as Twilio's words (clients.words), never
as proto names or numbers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import Message

from clients.words import enum_word, twilio_settings, words_by_number
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core import attributes, errors
from service.core.bulk import BulkCommand
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.errors import FieldViolation
from service.core.model import AlertRules, Role, StatusCallback, event_words
from service.core.move import MoveCommand
from service.rpc import names
from service.rpc.messages import METHODS

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.@+\-]{1,256}$")
_SIP = re.compile(r"^sips?:[^@\s]+@[^\s]+$")
_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_BYOC = re.compile(r"^BY[0-9a-fA-F]{32}$")

_CALL_EVENT = enums_pb2.CallEvent.DESCRIPTOR
_CONFERENCE_RECORDING_EVENTS = {
    enums_pb2.RECORDING_EVENT_IN_PROGRESS,
    enums_pb2.RECORDING_EVENT_COMPLETED,
    enums_pb2.RECORDING_EVENT_FAILED,
    enums_pb2.RECORDING_EVENT_ABSENT,
}

# (field, low, high, twilio code)
_RANGES = (
    ("timeout", 5, 600, 0),
    ("max_participants", 2, 250, 16002),
    ("time_limit", 1, 86400, 0),
    ("machine_detection_timeout", 3, 59, 21263),
    ("machine_detection_speech_threshold", 1000, 6000, 21263),
    ("machine_detection_speech_end_threshold", 500, 5000, 21263),
    ("machine_detection_silence_timeout", 2000, 10000, 21263),
)
_CREATE_URLS = (
    "status_callback",
    "wait_url",
    "conference_status_callback",
    "recording_status_callback",
    "conference_recording_status_callback",
    "amd_status_callback",
    "client_notification_url",
)
_UPDATE_URLS = ("hold_url", "announce_url", "wait_url")
# Conference-level Create parameters: only the first participant's are used.
_CONFERENCE_FIELDS = (
    "conference_record",
    "conference_trim",
    "conference_recording_status_callback",
    "conference_recording_status_callback_method",
    "conference_recording_status_callback_event",
    "max_participants",
)
# Create parameters the domain keeps in typed fields, not in the settings bag.
_TYPED = (
    "parent",
    "attributes",  # Rollcall's record only: never in the carrier's settings
    "alerts",  # the conference's timers: Rollcall's own
    "request_id",
    "from_endpoint",
    "to_endpoint",
    "label",
    "status_callback",
    "status_callback_method",
    "status_callback_event",
    "conference_status_callback",
    "conference_status_callback_method",
    "conference_status_callback_event",
    "region",
    "role",
    "whisper_targets",
)


def valid_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def label_problem(label: str) -> str | None:
    if not label:
        return "must not be empty"
    if len(label) > 128:
        return "must not exceed 128 characters"
    if _CALL_SID.match(label):
        return "must not be a CallSid"
    if "/" in label or "%2f" in label.lower():
        return "must not contain '/'"
    return None


def endpoint_ok(value: str) -> bool:
    return bool(_E164.match(value) or _CLIENT.match(value) or _SIP.match(value))


def _check_enums(message: Message, bad: list[FieldViolation]) -> None:
    """Proto3 enums are open: refuse numbers the schema does not define."""
    # Only fields that are set: an unset enum is 0, which every enum defines.
    for field, value in message.ListFields():
        if field.enum_type is None:
            continue
        known = field.enum_type.values_by_number
        ok = all(v in known and v != 0 for v in value) if field.is_repeated else value in known
        if not ok:
            bad.append(FieldViolation(field.name, "unknown value"))


def _method(value: int, default: str) -> str:
    return METHODS.get(value, default)


def _has(message: Message, field: str) -> bool:
    return message.HasField(field)


def fingerprint(request: Message) -> str:
    copy = type(request)()
    copy.CopyFrom(request)
    if hasattr(copy, "request_id"):
        copy.request_id = ""
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def _settings(
    request: Message, fields: tuple[str, ...] | None, skip: tuple[str, ...]
) -> dict[str, Any]:
    """The parameters as sent, enum values in Twilio's words."""
    data = json_format.MessageToDict(request, preserving_proto_field_name=True)
    if fields is not None:
        kept = {k: v for k, v in data.items() if k in fields}
    else:
        kept = {k: v for k, v in data.items() if k not in skip}
    return twilio_settings(kept, pb.CreateParticipantRequest.DESCRIPTOR)


def create_command(request: pb.CreateParticipantRequest, ref: ConferenceRef) -> CreateCommand:
    """`ref` is the request's parent, already parsed (and owned by the caller)."""
    bad: list[FieldViolation] = []
    if not request.to_endpoint:
        bad.append(FieldViolation("to_endpoint", "required", 21201))
    elif not endpoint_ok(request.to_endpoint):
        bad.append(
            FieldViolation("to_endpoint", "not a valid phone number, client or SIP address", 21211)
        )
    if not request.from_endpoint:
        bad.append(FieldViolation("from_endpoint", "required", 21213))
    elif not endpoint_ok(request.from_endpoint):
        bad.append(
            FieldViolation(
                "from_endpoint", "not a valid phone number, client or SIP address", 21212
            )
        )
    for field in _CREATE_URLS:
        value = getattr(request, field)
        if value and not valid_url(value):
            bad.append(FieldViolation(field, "not a valid http or https URL", 21205))
    for field, low, high, code in _RANGES:
        if _has(request, field) and not low <= getattr(request, field) <= high:
            bad.append(FieldViolation(field, f"must be between {low} and {high}", code))
    if request.HasField("label"):
        problem = label_problem(request.label)
        if problem:
            bad.append(FieldViolation("label", problem, 16024))
    # 16028, "participant to be whispered is not present": no such call can be.
    if request.call_sid_to_coach and not _CALL_SID.match(request.call_sid_to_coach):
        bad.append(
            FieldViolation("call_sid_to_coach", "must be CA followed by 32 hex digits", 16028)
        )
    coaching = request.coaching if request.HasField("coaching") else bool(request.call_sid_to_coach)
    if coaching and not request.call_sid_to_coach:
        bad.append(FieldViolation("call_sid_to_coach", "required when coaching is true", 16028))
    role, whisper_targets = _role(request, coaching, bad)
    if request.byoc and not _BYOC.match(request.byoc):
        bad.append(FieldViolation("byoc", "must be BY followed by 32 hex digits"))
    if len(request.sip_auth_username) >= 256:
        bad.append(
            FieldViolation("sip_auth_username", "must be shorter than 256 characters", 21222)
        )
    if len(request.sip_auth_password) >= 256:
        bad.append(
            FieldViolation("sip_auth_password", "must be shorter than 256 characters", 21223)
        )
    if request.caller_display_name and not 2 <= len(request.caller_display_name) <= 255:
        bad.append(FieldViolation("caller_display_name", "must be 2-255 characters"))
    if len(request.request_id) > 128:
        bad.append(FieldViolation("request_id", "must not exceed 128 characters"))
    _check_enums(request, bad)
    if any(
        v not in _CONFERENCE_RECORDING_EVENTS
        for v in request.conference_recording_status_callback_event
    ):
        bad.append(
            FieldViolation(
                "conference_recording_status_callback_event",
                "only in-progress, completed, failed and absent",
            )
        )
    if bad:
        raise errors.invalid(bad)
    attrs = attributes.checked(request.attributes)
    rules = alert_rules(request.alerts) if request.HasField("alerts") else None
    return CreateCommand(
        conference=ref,
        from_endpoint=request.from_endpoint,
        to_endpoint=request.to_endpoint,
        label=request.label if request.HasField("label") else None,
        muted=request.muted,
        start_conference_on_enter=(
            request.start_conference_on_enter
            if request.HasField("start_conference_on_enter")
            else True
        ),
        end_conference_on_exit=request.end_conference_on_exit,
        wait_url=request.wait_url if request.HasField("wait_url") else None,
        wait_method=_method(request.wait_method, "POST"),
        timeout=request.timeout if request.HasField("timeout") else 60,
        time_limit=request.time_limit if request.HasField("time_limit") else 14400,
        max_participants=(
            request.max_participants if request.HasField("max_participants") else 250
        ),
        conference_settings=_settings(request, _CONFERENCE_FIELDS, ()),
        settings=_settings(request, None, _TYPED),
        status_callback=StatusCallback(
            request.status_callback or None,
            _method(request.status_callback_method, "POST"),
            event_words([enum_word(_CALL_EVENT, v) for v in request.status_callback_event]),
        ),
        conference_status_callback=StatusCallback(
            request.conference_status_callback or None,
            _method(request.conference_status_callback_method, "POST"),
            event_words(
                [
                    enum_word(enums_pb2.ConferenceCallbackEvent.DESCRIPTOR, v)
                    for v in request.conference_status_callback_event
                ]
            ),
        ),
        region=enum_word(enums_pb2.Region.DESCRIPTOR, request.region),
        role=role,
        whisper_targets=whisper_targets,
        request_id=request.request_id,
        fingerprint=fingerprint(request),
        attributes=attrs,
        alerts=rules,
    )


def alert_rules(message: pb.ConferenceAlerts) -> AlertRules:
    """A Create's alert rules, checked (INVALID_ARGUMENT naming each bad field)."""
    bad: list[FieldViolation] = []
    for field in ("hold_seconds", "duration_seconds", "empty_seconds", "no_agent_seconds"):
        value = getattr(message, field)
        if not 0 <= value <= 366 * 24 * 3600:
            bad.append(FieldViolation(f"alerts.{field}", "must be 0 (off) to 31622400 seconds"))
    agent = message.agent_attribute or AlertRules().agent_attribute
    try:
        attributes.parse_filter([agent], "alerts.agent_attribute")
    except errors.RollcallError as error:
        bad.extend(error.violations)
    if bad:
        raise errors.invalid(bad)
    return AlertRules(
        hold_seconds=message.hold_seconds,
        duration_seconds=message.duration_seconds,
        empty_seconds=message.empty_seconds,
        no_agent_seconds=message.no_agent_seconds,
        agent_attribute=agent,
        end_conference=message.end_conference,
    )


def update_command(request: pb.UpdateParticipantRequest) -> UpdateCommand:
    bad: list[FieldViolation] = []
    for field in _UPDATE_URLS:
        if _has(request, field):
            value = getattr(request, field)
            if value and not valid_url(value):
                bad.append(FieldViolation(field, "not a valid http or https URL", 21205))
    coach = request.call_sid_to_coach
    if request.HasField("call_sid_to_coach") and coach and not _CALL_SID.match(coach):
        bad.append(
            FieldViolation("call_sid_to_coach", "must be CA followed by 32 hex digits", 16028)
        )
    _check_enums(request, bad)
    role = None
    if request.role or request.whisper_targets:
        role, _ = _role(request, False, bad)
    if bad:
        raise errors.invalid(bad)
    attributes.check_update(request.attributes)

    def opt(field: str) -> Any:
        return getattr(request, field) if _has(request, field) else None

    return UpdateCommand(
        muted=opt("muted"),
        hold=opt("hold"),
        hold_url=opt("hold_url"),
        hold_method=METHODS.get(request.hold_method),
        announce_url=opt("announce_url"),
        announce_method=METHODS.get(request.announce_method),
        wait_url=opt("wait_url"),
        wait_method=METHODS.get(request.wait_method),
        beep_on_exit=opt("beep_on_exit"),
        end_conference_on_exit=opt("end_conference_on_exit"),
        coaching=opt("coaching"),
        call_sid_to_coach=opt("call_sid_to_coach"),
        role=role,
        whisper_targets=tuple(request.whisper_targets),
        etag=request.etag,
        attributes=dict(request.attributes) if request.attributes else None,
        replace_attributes=request.replace_attributes,
    )


def _role(
    request: pb.CreateParticipantRequest | pb.UpdateParticipantRequest,
    coaching: bool,
    bad: list[FieldViolation],
) -> tuple[Role, tuple[str, ...]]:
    """The role a request names (a coach: a whisper to call_sid_to_coach);
    the rest of its rules are the core's (service.core.roles)."""
    targets = tuple(request.whisper_targets)
    for target in targets:
        if not _CALL_SID.match(target):
            bad.append(FieldViolation("whisper_targets", "must be CA followed by 32 hex digits"))
            break
    if request.role == enums_pb2.PARTICIPANT_ROLE_UNSPECIFIED:
        if targets:
            bad.append(FieldViolation("whisper_targets", "only with role WHISPER"))
        if coaching and request.call_sid_to_coach:
            return Role.WHISPER, (request.call_sid_to_coach,)
        return Role.NONE, ()
    if request.HasField("coaching") or request.call_sid_to_coach:
        bad.append(FieldViolation("role", "set either role or coaching, not both"))
    word = words_by_number(enums_pb2.ParticipantRole.DESCRIPTOR).get(request.role)
    if word is None:
        bad.append(FieldViolation("role", "not a ParticipantRole"))
        return Role.NONE, ()
    return Role(word), targets


def move_command(request: pb.MoveParticipantRequest, account_sid: str) -> MoveCommand:
    """The move a request asks for; the destination must be the caller's."""
    bad: list[FieldViolation] = []
    _check_enums(request, bad)
    destination = None
    try:
        destination = names.parse_parent(request.destination)
    except errors.RollcallError:
        bad.append(FieldViolation("destination", "accounts/{AC}/conferences/{CF or name}"))
    targets = tuple(request.whisper_targets)
    if any(not _CALL_SID.match(target) for target in targets):
        bad.append(FieldViolation("whisper_targets", "must be CA followed by 32 hex digits"))
    role = words_by_number(enums_pb2.ParticipantRole.DESCRIPTOR).get(request.role)
    if bad:
        raise errors.invalid(bad)
    assert destination is not None
    if destination.account_sid != account_sid:
        raise errors.conference_not_found(f"conference {destination.key}")
    return MoveCommand(
        destination,
        muted=request.muted,
        hold=request.hold,
        role=Role(role) if role else Role.NONE,
        whisper_targets=targets,
        etag=request.etag,
    )


def bulk_command(request: pb.UpdateParticipantsRequest) -> BulkCommand:
    bad: list[FieldViolation] = []
    if not request.HasField("muted") and not request.HasField("hold"):
        bad.append(FieldViolation("muted", "set muted, hold or both"))
    if not request.participants and not request.all_except:
        bad.append(FieldViolation("participants", "name at least one (or set all_except)"))
    if bad:
        raise errors.invalid(bad)
    return BulkCommand(
        keys=tuple(request.participants),
        all_except=request.all_except,
        muted=request.muted if request.HasField("muted") else None,
        hold=request.hold if request.HasField("hold") else None,
    )
