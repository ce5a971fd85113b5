"""Rollcall's own routes' form fields (gateway.rollcall_routes) -> ParticipantService requests.

Rule 1: each route's fields are a table of service.gateway.forms, parsed as
        Twilio's are (booleans and enum words case-insensitively, lists as
        repeated keys or space-separated words, unknown fields ignored, every
        unparseable field named in one INVALID_ARGUMENT).
Rule 2: a move's `Destination` is a conference SID or friendly name of the
        caller's own account (never a path).
Rule 3: a bulk change names its participants by `Participants` (call SIDs or
        labels), with `AllExcept`, `Muted` and `Hold`; which combinations make
        sense is the service's to say, so REST and gRPC agree.
"""

from __future__ import annotations

from multidict import MultiMapping

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import FieldViolation, invalid
from service.gateway.forms import FormField, bind, fill

MOVE_FIELDS: tuple[FormField, ...] = (
    FormField("Muted"),
    FormField("Hold"),
    FormField("Role", "role"),
    FormField("WhisperTargets", "whisper_targets"),
)
BULK_FIELDS: tuple[FormField, ...] = (
    FormField("Participants", "participants"),
    FormField("AllExcept"),
    FormField("Muted"),
    FormField("Hold"),
)
_MOVE = bind(pb.MoveParticipantRequest, MOVE_FIELDS)
_BULK = bind(pb.UpdateParticipantsRequest, BULK_FIELDS)


def parse_move(
    form: MultiMapping[str], *, name: str, account: str, etag: str = ""
) -> pb.MoveParticipantRequest:
    """Rule 2."""
    destination = form.getall("Destination", [""])[-1]
    if not destination or "/" in destination:
        raise invalid([FieldViolation("Destination", "a conference SID or friendly name")])
    request = pb.MoveParticipantRequest(
        name=name, destination=f"accounts/{account}/conferences/{destination}", etag=etag
    )
    fill(request, _MOVE, form)
    return request


def parse_bulk(form: MultiMapping[str], *, parent: str) -> pb.UpdateParticipantsRequest:
    """Rule 3."""
    request = pb.UpdateParticipantsRequest(parent=parent)
    fill(request, _BULK, form)
    return request
