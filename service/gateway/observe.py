"""Every REST request measured: one JSON log line, its metrics, its span.

Rule 1: each request (the probes excepted from the log, never from the
        metrics) is logged once when answered: method, route template, status,
        duration, peer, the account SID and resource in its path, the request
        id (`Idempotency-Key`, else `X-Request-Id`, else a generated one) and
        the trace id, the query string scrubbed of watch tokens; never a
        header's value besides those.
Rule 2: counted and timed by route template, method (`other` for a method
        HTTP does not define) and status (service.gateway.metrics); an event
        stream in its own histogram.
Rule 3: a SERVER span continuing the caller's `traceparent` covers the
        request, so what it calls (store, carrier, the gRPC upstream) is
        traced under it (service.tracing).
Rule 4: a request whose client left before its answer has status 499.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from service import tracing
from service.gateway import metrics, readiness
from service.gateway.upstream import REQUEST_ID

log = logging.getLogger("rollcall.http")

Handle = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNMATCHED = "unmatched"
CLIENT_LEFT = 499
_RESOURCE_LIMIT = 300
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: web.Request) -> str:
    """The template of the route that served `request` (bounded, Rule 2)."""
    info = request._match_info  # None when refused before routing
    if info is None:
        return UNMATCHED
    resource = info.route.resource
    if resource is None:
        return UNMATCHED
    return resource.canonical


# Metric children by label values, looked up once (labels() takes a lock);
# the label values are route templates, methods and statuses: a bounded set.
_COUNTED: dict[tuple[str, str, int], Any] = {}
_TIMED: dict[tuple[str, str], Any] = {}


def _counted(route: str, method: str, status: int) -> Any:
    key = (route, method, status)
    child = _COUNTED.get(key)
    if child is None:
        child = _COUNTED[key] = metrics.REQUESTS.labels(route, method, str(status))
    return child


def _timed(route: str, method: str) -> Any:
    key = (route, method)
    child = _TIMED.get(key)
    if child is None:
        child = _TIMED[key] = metrics.SECONDS.labels(route, method)
    return child


def request_id_of(request: web.Request) -> str:
    headers = request.headers
    given = headers.get("Idempotency-Key") or headers.get("X-Request-Id")
    if given and given.isascii() and given.isprintable() and len(given) <= 128:
        return given
    # Unique without asking the OS for randomness on every request (py-spy:
    # 1.7% of the REST Fetch loop's samples were the getrandom call).
    return f"{_ID_HALF}{next(_ids) & 0xFFFFFFFF:08x}"


# A new request id: this process's random half, then a count (16 hex digits).
_ID_HALF = secrets.token_hex(4)
_ids = itertools.count(secrets.randbelow(1 << 32))


async def observed(request: web.Request, handle: Handle) -> web.StreamResponse:
    start = time.perf_counter()
    # A client may send any method token: the label keeps to the known ones.
    method = request.method if request.method in _METHODS else "other"
    status = 500
    response: web.StreamResponse | None = None
    headers = request.headers
    request_id = request_id_of(request)
    REQUEST_ID.set(request_id)
    carrier = None
    if tracing.enabled():
        carrier = {k: headers[k] for k in ("traceparent", "tracestate") if k in headers}
    # Named by its route once routed (the path would name SIDs).
    with tracing.server_span(f"{method}", carrier) as span:
        try:
            response = await handle(request)
            status = response.status
            return response
        except asyncio.CancelledError:
            status = CLIENT_LEFT
            raise
        finally:
            elapsed = time.perf_counter() - start
            route = route_of(request)
            _counted(route, method, status).inc()
            if response is not None and type(response) is web.StreamResponse:
                metrics.STREAM_SECONDS.labels(route).observe(elapsed)
            else:
                _timed(route, method).observe(elapsed)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.fail(str(status))
            if log.isEnabledFor(logging.INFO) and request.path not in readiness.PATHS:
                _log(request, request_id, route, status, elapsed, span)


def _log(
    request: web.Request,
    request_id: str,
    route: str,
    status: int,
    elapsed: float,
    span: tracing.Span,
) -> None:
    info = request._match_info
    account = info.get("account") if info is not None else None
    extra: dict[str, Any] = {
        "method": request.method,
        "route": route,
        "status": status,
        "ms": round(elapsed * 1000, 3),
        "peer": request.remote,
        "account_sid": account,
        "resource": request.path[:_RESOURCE_LIMIT],
        # A watch token in it is scrubbed (service.redact) like any credential.
        "query": request.query_string[:_RESOURCE_LIMIT] or None,
        "request_id": request_id,
        "trace_id": span.trace_id or tracing.trace_id_of(request.headers.get("traceparent")),
    }
    log.info("http", extra=extra)
