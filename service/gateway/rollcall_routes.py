"""Rollcall's own REST routes for what Twilio has no URI for; not Twilio's: under /rollcall/v1/.

The routes move a participant, say who hears whom, and change many participants at once:
`POST /rollcall/v1/accounts/{AC}/conferences/{CF or name}/participants/{CA or label}/move`
with form fields `Destination` (a conference SID or friendly name), `Muted`,
`Hold`, `Role`, `WhisperTargets` and an optional `If-Match` etag;
`GET /rollcall/v1/accounts/{AC}/conferences/{CF or name}/hearing`;
`POST /rollcall/v1/accounts/{AC}/conferences/{CF or name}/participants/update-many`
with form fields `Participants` (call SIDs or labels), `AllExcept`, `Muted`, `Hold`.

Rule 1: like every route, a handler only translates: one Upstream call
        (MoveParticipant, GetHearing, UpdateParticipants) with the caller's Authorization header.
Rule 2: answers are JSON in snake_case, the participant as Twilio's 15 keys
        (render.participant_json); errors are Twilio's error JSON.
Rule 3: a bulk change answers 200 with one outcome per participant, a
        participant refused carrying its error (`code`: Twilio's, or null);
        only a refusal of the whole request is an error response.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import incoming, render, rollcall_forms

NAMESPACE = "/rollcall/v1/accounts/{account}/conferences/{conference}"
MOVE = NAMESPACE + "/participants/{participant}/move"
HEARING = NAMESPACE + "/hearing"
BULK = NAMESPACE + "/participants/update-many"


async def move_participant(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    account = incoming.segment(request, "account")
    name = f"{incoming.conference_path(request)}/participants/"
    name += incoming.segment(request, "participant")
    message = rollcall_forms.parse_move(
        form, name=name, account=account, etag=incoming.if_match(request)
    )
    moved = await incoming.upstream(request).move_participant(
        message, incoming.authorization(request)
    )
    body: dict[str, Any] = {
        "move_id": moved.move_id,
        "moved_from_conference_sid": moved.moved_from_conference_sid,
        "moved_to_conference_sid": moved.participant.conference_sid,
        "participant": render.participant_json(moved.participant),
    }
    return web.json_response(body)


async def hearing(request: web.Request) -> web.Response:
    answer = await incoming.upstream(request).get_hearing(
        cpb.GetHearingRequest(name=incoming.conference_path(request)),
        incoming.authorization(request),
    )
    body = {
        "conference_sid": answer.conference_sid,
        "revision": answer.revision,
        "rows": [
            {"call_sid": row.call_sid, "hears": list(row.hears), "heard_by": list(row.heard_by)}
            for row in answer.rows
        ],
    }
    return web.json_response(body)


async def update_participants(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    message = rollcall_forms.parse_bulk(form, parent=incoming.conference_path(request))
    answer = await incoming.upstream(request).update_participants(
        message, incoming.authorization(request)
    )
    return web.json_response({"outcomes": [_outcome(item) for item in answer.outcomes]})


def _outcome(item: pb.ParticipantOutcome) -> dict[str, Any]:
    """Rule 3: one participant's answer."""
    error = None
    if item.error_reason:
        error = {
            "code": item.twilio_code or None,
            "reason": item.error_reason,
            "message": item.error_message,
        }
    return {
        "key": item.key,
        "changed": item.changed,
        "participant": (
            render.participant_json(item.participant) if item.HasField("participant") else None
        ),
        "error": error,
    }


def add_routes(app: web.Application) -> None:
    app.router.add_post(MOVE, move_participant)
    app.router.add_post(BULK, update_participants)
    app.router.add_get(HEARING, hearing)
