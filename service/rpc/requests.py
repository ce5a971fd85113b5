"""Checks every field of a request and turns it into a core command.

Rule 1: bad input is refused before anything changes, with one FieldViolation
per bad field, each carrying Twilio's error code where the catalogue has one
(21205 URLs, 21211/21212 numbers, 16024 labels, 16002 conference attributes,
21263 machine detection).
Rule 2: enum values reach the core as Twilio's words (clients.words), never
as proto names or numbers.
Rule 3: Create's own checks and defaults are service.rpc.create_request's;
the single-field checks here serve every request.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from google.protobuf.message import Message

from clients.words import words_by_number
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core import attributes, errors
from service.core.bulk import BulkCommand
from service.core.commands import UpdateCommand
from service.core.errors import FieldViolation
from service.core.move import MoveCommand
from service.core.statuses import Role
from service.rpc import names
from service.rpc.messages import METHODS

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.@+\-]{1,256}$")
_SIP = re.compile(r"^sips?:[^@\s]+@[^\s]+$")
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_UPDATE_URLS = ("hold_url", "announce_url", "wait_url")


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
    if CALL_SID.match(label):
        return "must not be a CallSid"
    if "/" in label or "%2f" in label.lower():
        return "must not contain '/'"
    return None


def endpoint_ok(value: str) -> bool:
    return bool(_E164.match(value) or _CLIENT.match(value) or _SIP.match(value))


def check_enums(message: Message, bad: list[FieldViolation]) -> None:
    """Proto3 enums are open: refuse numbers the schema does not define."""
    # Only fields that are set: an unset enum is 0, which every enum defines.
    for field, value in message.ListFields():
        if field.enum_type is None:
            continue
        known = field.enum_type.values_by_number
        ok = all(v in known and v != 0 for v in value) if field.is_repeated else value in known
        if not ok:
            bad.append(FieldViolation(field.name, "unknown value"))


def method_word(value: int, default: str) -> str:
    return METHODS.get(value, default)


def has_field(message: Message, field: str) -> bool:
    return message.HasField(field)


def fingerprint(request: Message) -> str:
    copy = type(request)()
    copy.CopyFrom(request)
    if hasattr(copy, "request_id"):
        copy.request_id = ""
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


def update_command(request: pb.UpdateParticipantRequest) -> UpdateCommand:
    bad: list[FieldViolation] = []
    for field in _UPDATE_URLS:
        if has_field(request, field):
            value = getattr(request, field)
            if value and not valid_url(value):
                bad.append(FieldViolation(field, "not a valid http or https URL", 21205))
    coach = request.call_sid_to_coach
    if request.HasField("call_sid_to_coach") and coach and not CALL_SID.match(coach):
        bad.append(
            FieldViolation("call_sid_to_coach", "must be CA followed by 32 hex digits", 16028)
        )
    check_enums(request, bad)
    role = None
    if request.role or request.whisper_targets:
        role, _ = requested_role(request, False, bad)
    if bad:
        raise errors.invalid(bad)
    attributes.check_update(request.attributes)

    def opt(field: str) -> Any:
        return getattr(request, field) if has_field(request, field) else None

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


def requested_role(
    request: pb.CreateParticipantRequest | pb.UpdateParticipantRequest,
    coaching: bool,
    bad: list[FieldViolation],
) -> tuple[Role, tuple[str, ...]]:
    """The role a request names (a coach: a whisper to call_sid_to_coach);
    the rest of its rules are the core's (service.core.roles)."""
    targets = tuple(request.whisper_targets)
    for target in targets:
        if not CALL_SID.match(target):
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
    check_enums(request, bad)
    destination = None
    try:
        destination = names.parse_parent(request.destination)
    except errors.RollcallError:
        bad.append(FieldViolation("destination", "accounts/{AC}/conferences/{CF or name}"))
    targets = tuple(request.whisper_targets)
    if any(not CALL_SID.match(target) for target in targets):
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
