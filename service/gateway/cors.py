"""Cross-origin use of the gateway (CORS): off unless the settings name origins.

Rule 1: with no origins named (`http_cors_origins` empty, the default) nothing
        here is installed: no response carries a CORS header, so a browser
        lets no page of another origin read any answer.
Rule 2: a request whose `Origin` is named gets `Access-Control-Allow-Origin`
        with exactly that origin (never `*`) and `Vary: Origin`; an origin not
        named gets no CORS header at all. Every route is covered, errors and
        the event stream included.
Rule 3: a preflight (OPTIONS with `Access-Control-Request-Method`) from a named
        origin is answered 204 with the methods and request headers the
        gateway reads; from any other origin, 403 with no CORS header.
Rule 4: `Access-Control-Allow-Credentials` is never sent: a page of another
        origin sends Basic credentials or a watch token explicitly, and no
        cookie or cached credential of the browser's ever counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from service.gateway.errors import error_response

METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, Last-Event-ID"
EXPOSED_HEADERS = "ETag"
MAX_AGE_SECONDS = "600"

_ORIGINS_KEY: web.AppKey[frozenset[str]] = web.AppKey("rollcall_cors_origins")


def parse_origins(spec: str) -> frozenset[str]:
    """`https://a.example, http://localhost:3000` -> the origins, normalized;
    ValueError for an entry that is not scheme://host[:port]."""
    origins = set()
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        parts = urlsplit(entry)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username is not None
        ):
            raise ValueError(
                f"http_cors_origins: {entry!r} is not an origin (scheme://host[:port])"
            )
        origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(origins)


def _allowed(request: web.Request) -> str | None:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return None
    return origin if origin in request.app[_ORIGINS_KEY] else None


async def _mark(request: web.Request, response: web.StreamResponse) -> None:
    """Rule 2, on every response as it is prepared (an error's as well)."""
    origin = _allowed(request)
    if origin is None:
        return
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
    response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = EXPOSED_HEADERS
    response.headers.add(hdrs.VARY, hdrs.ORIGIN)


async def _preflight(request: web.Request) -> web.StreamResponse:
    """Rule 3."""
    if hdrs.ACCESS_CONTROL_REQUEST_METHOD not in request.headers or _allowed(request) is None:
        return error_response(403, None, "Cross-origin requests from this origin are not allowed")
    return web.Response(
        status=204,
        headers={
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: METHODS,
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
            hdrs.ACCESS_CONTROL_MAX_AGE: MAX_AGE_SECONDS,
        },
    )


def install(app: web.Application, origins: Iterable[str]) -> None:
    """CORS for `origins` (Rule 1: nothing at all when there are none). After
    every other route: the preflight route answers OPTIONS on any path."""
    allowed = frozenset(origins)
    if not allowed:
        return
    app[_ORIGINS_KEY] = allowed
    app.on_response_prepare.append(_mark)
    app.router.add_route(hdrs.METH_OPTIONS, "/{tail:.*}", _preflight)
