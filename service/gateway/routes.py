"""Twilio's Participant URIs -> ParticipantService calls, one handler per operation.

The rule it keeps: a handler only translates. It reads the path, headers and
form exactly as Twilio's SDKs send them, makes one Upstream call with the
caller's raw Authorization header, and renders the answer; authentication,
tenancy and every business rule stay in the service. Beyond Twilio, and
invisible to the SDKs: `Idempotency-Key` on Create becomes the request_id,
`If-Match` on Update and Delete becomes the etag, and responses carry the
participant's etag as `ETag`. Every route answers on `.json`, `.xml`, no
suffix and `.csv` (see representation), and `Page=N` without a token lists
from record N*PageSize (see paging).
"""

from __future__ import annotations

from aiohttp import hdrs, web
from multidict import MultiDict

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import invalid_field, not_found
from service.gateway import forms, paging, render, render_cache, representation
from service.gateway.representation import SUFFIX, answers_in_kind
from service.gateway.upstream import Upstream

PREFIX = "/2010-04-01/Accounts/{account}/Conferences/{conference}"
COLLECTION = PREFIX + "/Participants" + SUFFIX
# Non-greedy, so a trailing `.json`, `.xml` or `.csv` is the suffix, not the key.
INSTANCE = PREFIX + "/Participants/{participant:[^/]+?}" + SUFFIX

FORM_TYPE = "application/x-www-form-urlencoded"
IDEMPOTENCY_KEY = "Idempotency-Key"

UPSTREAM_KEY: web.AppKey[Upstream] = web.AppKey("rollcall_upstream")


def _upstream(request: web.Request) -> Upstream:
    return request.app[UPSTREAM_KEY]


def _authorization(request: web.Request) -> str | None:
    return request.headers.get(hdrs.AUTHORIZATION) or None


def _text_header(request: web.Request, name: str) -> str:
    """A header bound for a proto string field; undecodable bytes are the caller's error."""
    value = request.headers.get(name, "").strip()
    try:
        value.encode()
    except UnicodeEncodeError:
        raise invalid_field(name, "must be UTF-8 text") from None
    return value


def _segment(request: web.Request, key: str) -> str:
    """A percent-decoded path parameter; one holding `/` can name nothing."""
    value = request.match_info[key]
    if "/" in value:
        raise not_found(request.rel_url.raw_path)
    return value


def _parent(request: web.Request) -> str:
    return f"accounts/{_segment(request, 'account')}/conferences/{_segment(request, 'conference')}"


def _name(request: web.Request) -> str:
    return f"{_parent(request)}/participants/{_segment(request, 'participant')}"


def _if_match(request: web.Request) -> str:
    value = _text_header(request, hdrs.IF_MATCH)
    return "" if value == "*" else value


async def _read_form(request: web.Request) -> MultiDict[str]:
    """The form body of a POST. An empty body is an empty form whatever its label
    (curl sends none, aiohttp's client says application/octet-stream)."""
    body = await request.read()  # enforces the application's client_max_size
    if not body:
        return MultiDict()
    if hdrs.CONTENT_TYPE not in request.headers or request.content_type != FORM_TYPE:
        raise invalid_field("Content-Type", f"must be {FORM_TYPE} for a request body")
    try:
        posted = await request.post()
    except (LookupError, UnicodeDecodeError):
        raise invalid_field("Content-Type", "the body is not in the declared charset") from None
    return MultiDict((key, value) for key, value in posted.items() if isinstance(value, str))


def _participant_response(
    request: web.Request, participant: participant_pb2.Participant, status: int = 200
) -> web.Response:
    headers = {}
    if participant.etag:
        etag = participant.etag
        headers[hdrs.ETAG] = etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'
    return representation.resource(
        request,
        "Participant",
        render.participant_json(participant),
        status=status,
        headers=headers,
    )


async def create_participant(request: web.Request) -> web.Response:
    form = await _read_form(request)
    message = forms.parse_create(
        form,
        parent=_parent(request),
        request_id=_text_header(request, IDEMPOTENCY_KEY),
    )
    response = await _upstream(request).create_participant(message, _authorization(request))
    return _participant_response(request, response.participant, status=201)


async def list_participants(request: web.Request) -> web.Response:
    account = _segment(request, "account")
    conference = _segment(request, "conference")
    query = forms.parse_list(request.query, parent=_parent(request))
    upstream, authorization = _upstream(request), _authorization(request)

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
    response = await _upstream(request).fetch_participant(message, _authorization(request))
    if representation.kind(request) is representation.Kind.JSON:
        return render_cache.json_response(response.participant)
    return _participant_response(request, response.participant)


async def update_participant(request: web.Request) -> web.Response:
    form = await _read_form(request)
    message = forms.parse_update(form, name=_name(request), etag=_if_match(request))
    response = await _upstream(request).update_participant(message, _authorization(request))
    return _participant_response(request, response.participant)


async def delete_participant(request: web.Request) -> web.Response:
    message = pb.DeleteParticipantRequest(name=_name(request), etag=_if_match(request))
    await _upstream(request).delete_participant(message, _authorization(request))
    # Exactly 204 with no body and no content type: the twilio CLI checks for 204.
    return web.Response(status=204)


def add_routes(app: web.Application, upstream: Upstream) -> None:
    app[UPSTREAM_KEY] = upstream
    app.router.add_post(COLLECTION, answers_in_kind(create_participant))
    app.router.add_get(COLLECTION, answers_in_kind(list_participants))
    app.router.add_get(INSTANCE, answers_in_kind(fetch_participant))
    app.router.add_post(INSTANCE, answers_in_kind(update_participant))
    app.router.add_delete(INSTANCE, answers_in_kind(delete_participant))
    # Imported here: conference_routes shares this module's request helpers.
    from service.gateway import conference_routes

    conference_routes.add_routes(app)
