"""Rollcall's own REST routes for what Twilio has no URI for: moving a
participant, and who hears whom. Not Twilio's: they live under /rollcall/v1/.

`POST /rollcall/v1/accounts/{AC}/conferences/{CF or name}/participants/{CA or label}/move`
with form fields `Destination` (a conference SID or friendly name), `Muted`,
`Hold`, `Role`, `WhisperTargets` and an optional `If-Match` etag;
`GET /rollcall/v1/accounts/{AC}/conferences/{CF or name}/hearing`.

Rule 1: like every route, a handler only translates: one Upstream call
        (MoveParticipant, GetHearing) with the caller's Authorization header.
Rule 2: answers are JSON in snake_case, the participant as Twilio's 15 keys
        (render.participant_json); errors are Twilio's error JSON.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rollcall.v1 import conference_service_pb2 as cpb
from service.gateway import forms, incoming, render

NAMESPACE = "/rollcall/v1/accounts/{account}/conferences/{conference}"
MOVE = NAMESPACE + "/participants/{participant}/move"
HEARING = NAMESPACE + "/hearing"


async def move_participant(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    account = incoming.segment(request, "account")
    name = f"{incoming.conference_path(request)}/participants/"
    name += incoming.segment(request, "participant")
    message = forms.parse_move(form, name=name, account=account, etag=incoming.if_match(request))
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


def add_routes(app: web.Application) -> None:
    app.router.add_post(MOVE, move_participant)
    app.router.add_get(HEARING, hearing)
