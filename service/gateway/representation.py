"""Which representation a URI asks for, and answering in it.

Rule 1: (Twilio's 2010 "API responses") a resource URI answers as JSON with
        `.json`, as XML with `.xml` or no suffix (the 2010 default), and as CSV
        with `.csv`; every operation works on every suffix.
Rule 2: a handler's refusals (a RollcallError, aiohttp's HTTP errors) come back in
        the representation asked for (`<RestException>`, a CSV row); faults, broken
        request bodies and URIs no route matches answer in the gateway's JSON.
Rule 3: handlers build the JSON body once; this module only changes its clothes.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from aiohttp import web

from service.core.errors import RollcallError
from service.gateway import render_csv, render_xml
from service.gateway.errors import http_exception_response, rollcall_error_response

# A route segment that is empty or one of the three suffixes.
SUFFIX = r"{suffix:(?:\.(?:json|xml|csv))?}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Kind(enum.Enum):
    JSON = ".json"
    XML = ".xml"
    CSV = ".csv"


def kind(request: web.Request) -> Kind:
    suffix = request.match_info.get("suffix", ".json")
    return Kind.XML if suffix == "" else Kind(suffix)


def suffix(request: web.Request) -> str:
    """The suffix the caller used, for the URIs of a page."""
    return request.match_info.get("suffix", ".json")


def _response(
    body: bytes, content_type: str, status: int, headers: Mapping[Any, str] | None
) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        headers=dict(headers or {}),
        content_type=content_type,
        charset="utf-8",
    )


def resource(
    request: web.Request,
    element: str,
    record: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[Any, str] | None = None,
) -> web.Response:
    """One resource; `element` is its XML name (`Participant`)."""
    chosen = kind(request)
    if chosen is Kind.XML:
        body = render_xml.resource(element, record)
        return _response(body, render_xml.CONTENT_TYPE, status, headers)
    if chosen is Kind.CSV:
        return _response(render_csv.table([record]), render_csv.CONTENT_TYPE, status, headers)
    return web.json_response(record, status=status, headers=headers)


def page(
    request: web.Request,
    body: Mapping[str, Any],
    *,
    records_key: str,
    list_element: str,
    item_element: str,
    columns: Sequence[str],
) -> web.Response:
    """One list page; `body` is the JSON page envelope."""
    chosen = kind(request)
    if chosen is Kind.XML:
        xml = render_xml.page(list_element, item_element, body, records_key)
        return _response(xml, render_xml.CONTENT_TYPE, 200, None)
    if chosen is Kind.CSV:
        csv = render_csv.table(body[records_key], columns)
        return _response(csv, render_csv.CONTENT_TYPE, 200, None)
    return web.json_response(body)


def _reclothe(request: web.Request, response: web.Response) -> web.Response:
    chosen = kind(request)
    if chosen is Kind.JSON or response.body is None:
        return response
    assert isinstance(response.body, bytes)
    body = orjson.loads(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers.pop("Content-Length", None)
    if chosen is Kind.XML:
        return _response(render_xml.error(body), render_xml.CONTENT_TYPE, response.status, headers)
    return _response(render_csv.error(body), render_csv.CONTENT_TYPE, response.status, headers)


def answers_in_kind(handler: Handler) -> Handler:
    """Errors of a handler in the representation its URI asked for."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except RollcallError as error:
            if kind(request) is Kind.JSON:
                raise  # the gateway's error middleware answers JSON
            return _reclothe(request, rollcall_error_response(error, request))
        except web.HTTPException as exc:
            if exc.status < 400 or kind(request) is Kind.JSON:
                raise
            return _reclothe(request, http_exception_response(exc, request))

    return wrapped
