"""Which representation a URI asks for, and answering in it.

Rule 1: (Twilio's 2010 "API responses") a resource URI answers as JSON with
        `.json`, as XML with `.xml` or no suffix (the 2010 default), and as CSV
        with `.csv`; every operation works on every suffix.
Rule 2: every error answers in the representation its URI asks for
        (`<TwilioResponse><RestException>`, a CSV row, or Twilio's error JSON):
        a handler's refusals, faults, a failing upstream, broken or late request
        bodies, an unsupported `Expect` and URIs no route matches alike. A URI no
        route matches asks by its own suffix, as a routed one does. Only what
        aiohttp refuses before a request's URI is read (a malformed or late
        request head) has no URI to ask, and stays JSON.
Rule 3: handlers build the JSON body once; this module only changes its clothes.
Rule 4: Rollcall's own routes (under /rollcall/, not Twilio's) answer JSON only,
        errors included, whatever their URI ends in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from service.gateway import render_csv, render_xml
from service.gateway.errors import ErrorResponse

# A route segment that is empty or one of the three suffixes.
SUFFIX = r"{suffix:(?:\.(?:json|xml|csv))?}"
_SUFFIXES = (".json", ".xml", ".csv")
# Rollcall's own namespace (Rule 4).
ROLLCALL_PREFIX = "/rollcall/"


class Kind(enum.Enum):
    JSON = ".json"
    XML = ".xml"
    CSV = ".csv"


def suffix(request: web.Request) -> str:
    """The suffix the request's URI ends in ("" for none), read from the path as
    the router reads it: exactly its route's `suffix`, and as well for a URI no
    route matches or not yet routed."""
    last = request.rel_url.path_safe.rsplit("/", 1)[-1]
    return next((end for end in _SUFFIXES if last.endswith(end)), "")


def kind(request: web.Request) -> Kind:
    """The representation the request's URI asks for."""
    if request.rel_url.path.startswith(ROLLCALL_PREFIX):
        return Kind.JSON
    chosen = suffix(request)
    return Kind.XML if chosen == "" else Kind(chosen)


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


def in_kind(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """`response`, an error (errors.ErrorResponse) in the representation the
    request's URI asks for, keeping its status, headers and connection close."""
    if not isinstance(response, ErrorResponse):
        return response
    chosen = kind(request)
    if chosen is Kind.JSON:
        return response
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-type", "content-length")
    }
    if chosen is Kind.XML:
        dressed = _response(
            render_xml.error(response.error), render_xml.CONTENT_TYPE, response.status, headers
        )
    else:
        dressed = _response(
            render_csv.error(response.error), render_csv.CONTENT_TYPE, response.status, headers
        )
    if response.keep_alive is False:
        dressed.force_close()
    return dressed
