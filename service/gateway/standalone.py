"""`rollcall gateway`: the REST gateway alone, in front of a remote gRPC service.

Rule 1: it holds no state and no credentials of its own: one grpc.aio channel
        to the target (TLS, mutual with a client certificate, when given
        clients.tls.ChannelTls), each caller's Authorization header forwarded
        as gRPC `authorization` metadata (and scrubbed from its log). It
        serves HTTPS when ROLLCALL_TLS_CERT_FILE and _KEY_FILE say so, as
        `serve` does (service.tls).
Rule 2: on SIGTERM or SIGINT it stops accepting, lets in-flight requests finish,
        closes the channel and returns 0.
Rule 3: it is ready (GET /readyz) while its target's gRPC health says the
        ParticipantService is SERVING, and asks it afresh each time.
Rule 4: it traces as `serve` does (service.tracing, the OTEL_* environment),
        each gRPC call a child of its REST request's span.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.tls import ChannelTls
from rollcall.v1 import participant_service_pb2 as pb
from service import redact, tracing
from service.config import from_env
from service.gateway.audit_routes import GrpcAudit
from service.gateway.cors import parse_origins
from service.gateway.grpc_upstream import GrpcUpstream
from service.gateway.protocol import HttpLimits
from service.gateway.server import Gateway, start_gateway
from service.tls import HttpContext, TlsFiles

log = logging.getLogger(__name__)

PARTICIPANT_SERVICE = pb.DESCRIPTOR.services_by_name["ParticipantService"].full_name
READY_TIMEOUT_SECONDS = 2.0


def upstream_ready(channel: grpc.aio.Channel) -> Callable[[], Awaitable[bool]]:
    """Rule 3: the target's own health, asked for each probe."""
    stub = health_pb2_grpc.HealthStub(channel)

    async def ready() -> bool:
        try:
            answer = await stub.Check(
                health_pb2.HealthCheckRequest(service=PARTICIPANT_SERVICE),
                timeout=READY_TIMEOUT_SECONDS,
            )
        except grpc.RpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    return ready


async def serve_gateway(
    target: str,
    listen: str,
    stop: asyncio.Event,
    started: Callable[[Gateway], None] | None = None,
    tls: ChannelTls | None = None,
) -> None:
    """Serve until `stop` is set; the channel and the site are closed on return."""
    # The ROLLCALL_HTTP_* and ROLLCALL_TLS_* variables apply here as in `serve`.
    settings = from_env()
    files = TlsFiles.from_settings(settings)
    http_tls = HttpContext(files) if files is not None else None
    tls = tls or ChannelTls()
    if tls.enabled:
        channel = grpc.aio.secure_channel(target, tls.credentials(), options=tls.options())
    else:
        channel = grpc.aio.insecure_channel(target)
    try:
        gateway = await start_gateway(
            GrpcUpstream(channel),
            listen,
            limits=HttpLimits.from_settings(settings),
            ready=upstream_ready(channel),
            cors_origins=parse_origins(settings.http_cors_origins),
            audit=GrpcAudit(channel),
            ssl_context=http_tls.context if http_tls is not None else None,
        )
        log.info("REST gateway listening on port %d, forwarding to gRPC %s", gateway.port, target)
        if started is not None:
            started(gateway)
        try:
            await stop.wait()
        finally:
            await gateway.close()
    finally:
        await channel.close()


async def _main(target: str, listen: str, tls: ChannelTls | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve_gateway(target, listen, stop, tls=tls)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run_gateway(target: str, listen: str, tls: ChannelTls | None = None) -> int:
    """Blocking: serve until SIGTERM/SIGINT, then shut down cleanly and return 0."""
    redact.install()  # it forwards callers' credentials: none may reach its log
    try:
        tracing.configure()
    except ValueError as bad:
        print(f"rollcall gateway: cannot start: {bad}", file=sys.stderr)
        return 1
    try:
        asyncio.run(_main(target, listen, tls))
    except ValueError as exc:  # TLS files that cannot be read or used
        print(f"rollcall gateway: cannot start: {exc}", file=sys.stderr)
        return 1
    finally:
        tracing.shutdown()
    log.info("REST gateway stopped")
    return 0
