"""The HTTP ports of one process: the REST gateway with the carrier's callbacks.

Rule 1: the gateway reaches the service through the API objects themselves
        (service.gateway.upstream.LocalUpstream), the path a gRPC client takes.
Rule 2: the carrier's callback routes are mounted on the gateway only when the
        carrier is Twilio; they apply reports through the core, for the
        accounts the carrier's account serves.
Rule 3: the carrier reaches this server at the public base URL setting, else
        at the HTTP address, https when the settings give a certificate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from service.carriers.choose import Chosen
from service.carriers.twilio.ingest import add_routes as add_carrier_routes
from service.config import Settings
from service.core import assemble
from service.core.ports.carrier import Report
from service.rpc.audit import AuditApi
from service.rpc.conferences import ConferenceApi
from service.rpc.participants import ParticipantApi
from service.tls import HttpContext, TlsFiles


def carrier_ingest(
    chosen: Chosen, core: assemble.Core, public_base_url: Callable[[], str]
) -> Callable[[web.Application], None]:
    """The carrier callback routes, applying reports through the core."""

    async def apply(report: Report, token: str | None) -> None:
        accounts = chosen.tenants.get(report.account_sid, frozenset())
        await core.reports.on_report(report, token, accounts)

    def mount(web_app: web.Application) -> None:
        add_carrier_routes(web_app, public_base_url, chosen.signing_tokens.get, apply)

    return mount


def public_base_url(settings: Settings, tls: TlsFiles | None, http_port: int | None) -> str:
    """Where the carrier reaches this server: the setting, else the HTTP address."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    host = settings.http_listen.rpartition(":")[0] or "127.0.0.1"
    scheme = "https" if tls is not None else "http"
    return f"{scheme}://{host}:{http_port}"


async def open_gateway(
    settings: Settings,
    api: ParticipantApi,
    conference_api: ConferenceApi,
    audit_api: AuditApi,
    http_tls: HttpContext | None,
    ingest: Callable[[web.Application], None] | None,
    ready: Callable[[], Awaitable[bool]],
) -> tuple[object, int]:
    """The REST gateway started on the HTTP port: it, and the port it got."""
    from service.gateway.cors import parse_origins
    from service.gateway.protocol import HttpLimits
    from service.gateway.server import start_gateway
    from service.gateway.upstream import LocalUpstream

    s = settings
    gateway = await start_gateway(
        LocalUpstream(api, conference_api),
        s.http_listen,
        ssl_context=http_tls.context if http_tls is not None else None,
        limits=HttpLimits.from_settings(s),
        extra_routes=ingest,
        ready=ready,
        cors_origins=parse_origins(s.http_cors_origins),
        audit=audit_api,
    )
    return gateway, gateway.port
