"""Checks every field of a CreateParticipantRequest and turns it into a CreateCommand.

Rule 1: every bad field is named in one INVALID_ARGUMENT before anything
changes, with Twilio's code where the catalogue has one (21201/21213 a missing
number, 21211/21212 a bad one, 21205 URLs, 16024 labels, 16028 coaching,
16002 conference attributes, 21263 machine detection, 21222/21223 SIP auth).
Rule 2: a field left unset takes Twilio's default (start_conference_on_enter
true, timeout 60, time_limit 14400, max_participants 250, methods POST).
Rule 3: parameters the core keeps in no typed field reach it as sent, enum
values in Twilio's words: the conference-level ones apart from the rest.
Rule 4: the request's fingerprint leaves request_id out, so a retry matches
the first Create.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from clients.words import enum_word, twilio_settings
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core import attributes, errors
from service.core.commands import ConferenceRef, CreateCommand
from service.core.errors import FieldViolation
from service.core.records import AlertRules, StatusCallback, event_words
from service.rpc import limits
from service.rpc.requests import (
    CALL_SID,
    check_enums,
    endpoint_ok,
    fingerprint,
    has_field,
    label_problem,
    method_word,
    requested_role,
    valid_url,
)

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
# The Create's URL fields: those of service.rpc.limits' URL fields it has.
_CREATE_URLS = tuple(
    field
    for field in limits.URL_FIELDS
    if field in pb.CreateParticipantRequest.DESCRIPTOR.fields_by_name
)
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
        if has_field(request, field) and not low <= getattr(request, field) <= high:
            bad.append(FieldViolation(field, f"must be between {low} and {high}", code))
    if request.HasField("label"):
        problem = label_problem(request.label)
        if problem:
            bad.append(FieldViolation("label", problem, 16024))
    # 16028, "participant to be whispered is not present": no such call can be.
    if request.call_sid_to_coach and not CALL_SID.match(request.call_sid_to_coach):
        bad.append(
            FieldViolation("call_sid_to_coach", "must be CA followed by 32 hex digits", 16028)
        )
    coaching = request.coaching if request.HasField("coaching") else bool(request.call_sid_to_coach)
    if coaching and not request.call_sid_to_coach:
        bad.append(FieldViolation("call_sid_to_coach", "required when coaching is true", 16028))
    role, whisper_targets = requested_role(request, coaching, bad)
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
    check_enums(request, bad)
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
        wait_method=method_word(request.wait_method, "POST"),
        timeout=request.timeout if request.HasField("timeout") else 60,
        time_limit=request.time_limit if request.HasField("time_limit") else 14400,
        max_participants=(
            request.max_participants if request.HasField("max_participants") else 250
        ),
        conference_settings=_settings(request, _CONFERENCE_FIELDS, ()),
        settings=_settings(request, None, _TYPED),
        status_callback=StatusCallback(
            request.status_callback or None,
            method_word(request.status_callback_method, "POST"),
            event_words([enum_word(_CALL_EVENT, v) for v in request.status_callback_event]),
        ),
        conference_status_callback=StatusCallback(
            request.conference_status_callback or None,
            method_word(request.conference_status_callback_method, "POST"),
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
