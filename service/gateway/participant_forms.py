"""Twilio's Participant form fields and query parameters -> ParticipantService requests.

Rule 1: Create, Update and List each read one table of service.gateway.forms,
in Twilio's names; an empty WaitUrl, HoldUrl or AnnounceUrl is meaningful
("play nothing") and is sent as set-but-empty.
Rule 2: Rollcall's own fields, which the Twilio SDKs never send: `Attribute`
(repeated, each `key=value`) on Create, Update (where `key=` removes the key,
and `ReplaceAttributes=true` replaces them all) and as a List filter; the
conference's alerts on Create (`AlertHoldSeconds`, `AlertDurationSeconds`,
`AlertEmptySeconds`, `AlertNoAgentSeconds`, `AlertAgentAttribute`,
`AlertEndConference`), checked by the service.
Rule 3: List clamps PageSize to MAX_PAGE_SIZE (the SDKs send their limit
whatever it is) and repeats its filters, in wire order, in every page URI.
Rule 4: a bad field is named in a REST error by its Twilio name (twilio_name).
"""

from __future__ import annotations

import dataclasses
import re
from typing import cast

from google.protobuf.message import Message
from multidict import MultiMapping

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import FieldViolation, invalid
from service.gateway.forms import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BadValue,
    FormField,
    bind,
    fill,
    paging_number,
    parse_boolean,
)

# Twilio's catalogue codes for a bad value, where one fits better than the
# generic 400: conference-level attributes, and answering-machine detection.
_CONFERENCE_ATTRIBUTES = 16002
_AMD_PARAMETERS = 21263


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


_CREATE = bind(pb.CreateParticipantRequest, CREATE_FIELDS)
_UPDATE = bind(pb.UpdateParticipantRequest, UPDATE_FIELDS)
_LIST = bind(pb.ListParticipantsRequest, LIST_FILTERS)


def parse_create(
    form: MultiMapping[str], *, parent: str, request_id: str = ""
) -> pb.CreateParticipantRequest:
    request = pb.CreateParticipantRequest(parent=parent, request_id=request_id)
    fill(request, _CREATE, form)
    request.attributes.update(_attributes(form))
    _alerts(request, form)
    return request


ATTRIBUTE = "Attribute"


# Rule 2: the conference's alert rules (ConferenceAlerts), when it is created.
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
            request.alerts.end_conference = parse_boolean(end[-1])
        except BadValue as error:
            bad.append(FieldViolation("AlertEndConference", str(error)))
    if bad:
        raise invalid(bad)
    if not given:
        request.ClearField("alerts")


def _attributes(form: MultiMapping[str]) -> dict[str, str]:
    """Rule 2: `Attribute=key=value`, repeated; the last value of a key wins."""
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
    fill(request, _UPDATE, form)
    request.attributes.update(_attributes(form))
    replace = form.getall("ReplaceAttributes", [])
    if replace:
        try:
            request.replace_attributes = parse_boolean(replace[-1])
        except BadValue as bad:
            raise invalid([FieldViolation("ReplaceAttributes", str(bad))]) from None
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


def parse_list(query: MultiMapping[str], *, parent: str) -> ListQuery:
    request = pb.ListParticipantsRequest(parent=parent)
    fill(request, _LIST, query)
    page_size = paging_number(query, "PageSize", DEFAULT_PAGE_SIZE)
    page = paging_number(query, "Page", 0)
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
    # Rule 2: checked by the service, as over gRPC.
    request.attributes.extend(pair for pair in query.getall(ATTRIBUTE, []) if pair)
    filters += tuple((ATTRIBUTE, pair) for pair in request.attributes)
    return ListQuery(request, filters, page_size, page, page_token)
