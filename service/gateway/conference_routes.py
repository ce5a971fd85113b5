"""Twilio's Conference URIs -> ConferenceService calls, one handler per operation.

The URIs: `GET .../Conferences` (filters and paging),
`GET|POST .../Conferences/{CF or friendly name}`.

Rule 1: like the participant routes, a handler only translates: it reads the path
        and the query or form as the SDKs send them and makes one Upstream call
        (or, for `Page=N` without a token, the List calls that reach record
        N*PageSize) with the caller's raw Authorization header.
Rule 2: the answer is rendered in the representation the URI's suffix asks for.
"""

from __future__ import annotations

from aiohttp import web

from rollcall.v1 import conference_service_pb2 as cpb
from service.gateway import conference_forms, incoming, paging, render, representation
from service.gateway.render_conference import CONFERENCE_KEYS, collection_path, conference_json
from service.gateway.representation import SUFFIX

ACCOUNT = "/2010-04-01/Accounts/{account}"
COLLECTION = ACCOUNT + "/Conferences" + SUFFIX
INSTANCE = ACCOUNT + "/Conferences/{conference:[^/]+?}" + SUFFIX


def _name(request: web.Request) -> str:
    return incoming.conference_path(request)


async def list_conferences(request: web.Request) -> web.Response:
    account = incoming.segment(request, "account")
    query = conference_forms.parse_list(request.query, account_sid=account)
    upstream, authorization = incoming.upstream(request), incoming.authorization(request)

    async def call(message: cpb.ListConferencesRequest) -> cpb.ListConferencesResponse:
        return await upstream.list_conferences(message, authorization)

    offset = 0 if query.page_token else query.page * query.page_size
    response = await paging.page_from(
        call,
        query.request,
        offset,
        lambda r: r.conferences,
        lambda r: r.next_page_token,
        cpb.ListConferencesResponse,
    )
    path = collection_path(account) + representation.suffix(request)
    records = [conference_json(c) for c in response.conferences]
    start = query.page * query.page_size if records else 0
    page = {
        "conferences": records,
        "first_page_uri": render.page_uri(path, query.filters, query.page_size, 0),
        "next_page_uri": (
            render.page_uri(
                path, query.filters, query.page_size, query.page + 1, response.next_page_token
            )
            if response.next_page_token
            else None
        ),
        "previous_page_uri": (
            render.page_uri(
                path,
                query.filters,
                query.page_size,
                max(query.page - 1, 0),
                response.previous_page_token,
            )
            if response.previous_page_token
            else None
        ),
        "uri": render.page_uri(path, query.filters, query.page_size, query.page, query.page_token),
        "page": query.page,
        "page_size": query.page_size,
        "start": start,
        "end": start + len(records) - 1 if records else 0,
    }
    return representation.page(
        request,
        page,
        records_key="conferences",
        list_element="Conferences",
        item_element="Conference",
        columns=CONFERENCE_KEYS,
    )


async def fetch_conference(request: web.Request) -> web.Response:
    message = cpb.FetchConferenceRequest(name=_name(request))
    response = await incoming.upstream(request).fetch_conference(
        message, incoming.authorization(request)
    )
    return representation.resource(request, "Conference", conference_json(response.conference))


async def update_conference(request: web.Request) -> web.Response:
    form = await incoming.read_form(request)
    message = conference_forms.parse_update(form, name=_name(request))
    response = await incoming.upstream(request).update_conference(
        message, incoming.authorization(request)
    )
    return representation.resource(request, "Conference", conference_json(response.conference))


def add_routes(app: web.Application) -> None:
    """Needs the participant routes' Upstream already in `app`."""
    app.router.add_get(COLLECTION, list_conferences)
    app.router.add_get(INSTANCE, fetch_conference)
    app.router.add_post(INSTANCE, update_conference)
