"""Twilio's Participant URIs -> ParticipantService calls, one handler per operation.

Rule 1: a handler only translates: it reads the path, headers and form exactly as
        Twilio's SDKs send them, makes one Upstream call with the caller's raw
        Authorization header, and renders the answer; authentication, tenancy and
        every business rule stay in the service.
Rule 2: beyond Twilio, and invisible to the SDKs: `Idempotency-Key` on Create is
        the request_id, `If-Match` on Update and Delete the etag, and a participant
        answer carries its etag as `ETag`.
Rule 3: every route answers on `.json`, `.xml`, no suffix and `.csv` (see
        representation); `Page=N` without a token lists from record N*PageSize
        (see paging).
"""

from __future__ import annotations

from aiohttp import hdrs, web

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import incoming, paging, participant_forms, render, representation
from service.gateway.incoming import IDEMPOTENCY_KEY, UPSTREAM_KEY
from service.gateway.representation import SUFFIX
from service.gateway.upstream import Upstream

PREFIX = "/2010-04-01/Accounts/{account}/Conferences/{conference}"
COLLECTION = PREFIX + "/Participants" + SUFFIX
# Non-greedy, so a trailing `.json`, `.xml` or `.csv` is the suffix, not the key.
INSTANCE = PREFIX + "/Participants/{participant:[^/]+?}" + SUFFIX
_JSON = "application/json; charset=utf-8"


def _parent(request: web.Request) -> str:
    return incoming.conference_path(request)


def _name(request: web.Request) -> str:
    return f"{_parent(request)}/participants/{incoming.segment(request, 'participant')}"


def _etag(etag: str) -> dict[str, str]:
    if not etag:
        return {}
    return {hdrs.ETAG: etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'}


def _participant_response(
    request: web.Request, participant: participant_pb2.Participant, status: int = 200
) -> web.Response:
    headers = _etag(participant.etag)
    record = render.participant_json(participant)
    if representation.kind(request) is not representation.Kind.JSON:
        record = render.twilio_only(record)
    return representation.resource(request, "Participant", record, status=status, headers=headers)


async def create_participant(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    message = participant_forms.parse_create(
        form,
        parent=_parent(request),
        request_id=incoming.text_header(request, IDEMPOTENCY_KEY),
    )
    response = await incoming.upstream(request).create_participant(
        message, incoming.authorization(request)
    )
    return _participant_response(request, response.participant, status=201)


async def list_participants(request: web.Request) -> web.Response:
    account = incoming.segment(request, "account")
    conference = incoming.segment(request, "conference")
    query = participant_forms.parse_list(request.query, parent=_parent(request))
    upstream, authorization = incoming.upstream(request), incoming.authorization(request)

    async def call(message: pb.ListParticipantsRequest) -> pb.ListParticipantsResponse:
        return await upstream.list_participants(message, authorization)

    # Twilio's page numbers: without a token, Page=N starts at record N*PageSize.
    offset = 0 if query.page_token else query.page * query.page_size
    response = await paging.page_from(
        call,
        query.request,
        offset,
        lambda r: r.participants,
        lambda r: r.next_page_token,
        pb.ListParticipantsResponse,
    )
    path = render.collection_path(account, conference).removesuffix(".json")
    page = render.page_json(
        response,
        path=path + representation.suffix(request),
        filters=query.filters,
        page_size=query.page_size,
        page=query.page,
        page_token=query.page_token,
    )
    if representation.kind(request) is not representation.Kind.JSON:
        page["participants"] = [render.twilio_only(record) for record in page["participants"]]
    return representation.page(
        request,
        page,
        records_key="participants",
        list_element="Participants",
        item_element="Participant",
        columns=render.PARTICIPANT_KEYS,
    )


async def fetch_participant(request: web.Request) -> web.Response:
    message = pb.FetchParticipantRequest(name=_name(request))
    fetched = await incoming.upstream(request).fetch_participant(
        message, incoming.authorization(request)
    )
    # The route's own suffix (what representation.kind reads from the path).
    if request.match_info["suffix"] == representation.Kind.JSON.value:
        # The JSON rendered once per revision (service.renders): the same
        # bytes and headers as representation.resource would send.
        headers = {hdrs.CONTENT_TYPE: _JSON, **_etag(fetched.etag)}
        return web.Response(body=fetched.json, headers=headers)
    return _participant_response(request, fetched.message())


async def update_participant(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    message = participant_forms.parse_update(
        form, name=_name(request), etag=incoming.if_match(request)
    )
    response = await incoming.upstream(request).update_participant(
        message, incoming.authorization(request)
    )
    return _participant_response(request, response.participant)


async def delete_participant(request: web.Request) -> web.Response:
    message = pb.DeleteParticipantRequest(name=_name(request), etag=incoming.if_match(request))
    await incoming.upstream(request).delete_participant(message, incoming.authorization(request))
    # Exactly 204 with no body and no content type: the twilio CLI checks for 204.
    return web.Response(status=204)


def add_routes(app: web.Application, upstream: Upstream) -> None:
    app[UPSTREAM_KEY] = upstream
    app.router.add_post(COLLECTION, create_participant)
    app.router.add_get(COLLECTION, list_participants)
    app.router.add_get(INSTANCE, fetch_participant)
    app.router.add_post(INSTANCE, update_participant)
    app.router.add_delete(INSTANCE, delete_participant)
