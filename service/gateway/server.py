"""The REST gateway's HTTP server: an aiohttp application on a TCP site.

Rule 1: one application shape for every deployment (in process beside the gRPC
        server, standalone in front of a remote one, in tests): the participant
        and conference routes, the probes (readiness) when given how to tell,
        Rollcall's event stream and watch tokens (events), the audit and
        privacy routes when given their calls (audit_routes), the supervisor
        console (console), CORS only for the origins named (cors), Twilio's
        error shape outermost (protocol.outside_middleware), at most 64 KiB of
        body and 1,000 form fields.
Rule 2: with an SSLContext (service.tls) it serves HTTPS only; connections
        are served by GatewayRequestHandler (Twilio errors for
        malformed HTTP; header, body and idle deadlines), and a shutdown lets
        in-flight requests finish.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable

from aiohttp import web

from service.gateway import (
    audit_routes,
    conference_routes,
    console,
    cors,
    events,
    readiness,
    rollcall_routes,
    routes,
)
from service.gateway.protocol import GatewayRunner, HttpLimits
from service.gateway.upstream import Upstream

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 1000


def build_app(
    upstream: Upstream,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    ready: readiness.Ready | None = None,
    cors_origins: Iterable[str] = (),
    audit: audit_routes.AuditCalls | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=max_body_bytes,
        client_max_fields=MAX_FORM_FIELDS,
    )
    routes.add_routes(app, upstream)
    conference_routes.add_routes(app)
    if ready is not None:
        readiness.add_routes(app, ready)
    events.add_routes(app)
    if audit is not None:
        audit_routes.add_routes(app, audit)
    rollcall_routes.add_routes(app)
    console.add_routes(app)
    cors.install(app, cors_origins)
    return app


def parse_listen(listen: str) -> tuple[str | None, int]:
    """`host:port`, `[v6]:port` or `:port` (all interfaces); port 0 picks a free one."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be host:port, got {listen!r}")
    host = host.strip("[]")
    return (host or None), int(port)


class Gateway:
    """A running gateway: its bound port, and how to stop it."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner
        self.port: int = runner.addresses[0][1]

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_gateway(
    upstream: Upstream,
    listen: str,
    *,
    shutdown_timeout: float = 10.0,
    limits: HttpLimits | None = None,
    extra_routes: Callable[[web.Application], None] | None = None,
    ready: readiness.Ready | None = None,
    cors_origins: Iterable[str] = (),
    audit: audit_routes.AuditCalls | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Gateway:
    host, port = parse_listen(listen)
    app = build_app(upstream, ready=ready, cors_origins=cors_origins, audit=audit)
    if extra_routes is not None:
        extra_routes(app)  # e.g. the carrier callback ingest
    runner = GatewayRunner(
        app,
        limits=limits or HttpLimits(),
        shutdown_timeout=shutdown_timeout,
        # Each request's one log line is service.gateway.observe's, not aiohttp's.
        access_log=None,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return Gateway(runner)
