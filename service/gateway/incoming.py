"""What every REST route reads from a request: upstream, credentials, path, form.

Rule 1: a path segment holding `/` names nothing (not found).
Rule 2: a header bound for a proto string must be UTF-8 text.
Rule 3: a POST body is a form (application/x-www-form-urlencoded) or empty.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from multidict import MultiDict

from service.core.errors import invalid_field, not_found
from service.gateway.upstream import Upstream

FORM_TYPE = "application/x-www-form-urlencoded"
IDEMPOTENCY_KEY = "Idempotency-Key"

UPSTREAM_KEY: web.AppKey[Upstream] = web.AppKey("rollcall_upstream")


def upstream(request: web.Request) -> Upstream:
    return request.app[UPSTREAM_KEY]


def authorization(request: web.Request) -> str | None:
    return request.headers.get(hdrs.AUTHORIZATION) or None


def text_header(request: web.Request, name: str) -> str:
    """A header bound for a proto string field; undecodable bytes are the caller's error."""
    value = request.headers.get(name, "").strip()
    try:
        value.encode()
    except UnicodeEncodeError:
        raise invalid_field(name, "must be UTF-8 text") from None
    return value


def segment(request: web.Request, key: str) -> str:
    """A percent-decoded path parameter; one holding `/` can name nothing."""
    value = request.match_info[key]
    if "/" in value:
        raise not_found(request.rel_url.raw_path)
    return value


def conference_path(request: web.Request) -> str:
    """The resource name of the conference in the path."""
    account, conference = segment(request, "account"), segment(request, "conference")
    return f"accounts/{account}/conferences/{conference}"


def if_match(request: web.Request) -> str:
    value = text_header(request, hdrs.IF_MATCH)
    return "" if value == "*" else value


async def read_form(request: web.Request) -> MultiDict[str]:
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
