"""Prometheus metrics: one registry for the process, served on /metrics.

The rule it keeps: every metric lives in REGISTRY (not prometheus_client's
global one), so the metrics endpoint shows exactly Rollcall's figures and
tests can read them without interference. Labels are bounded: RPC method and
status code names, never SIDs.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from service.webhooks.metrics import REGISTRY

RPCS = Counter(
    "rollcall_rpcs",
    "Finished RPCs by method and gRPC status code.",
    ["method", "code"],
    registry=REGISTRY,
)
RPC_SECONDS = Histogram(
    "rollcall_rpc_seconds",
    "Time to finish a unary RPC (streams: time to their end).",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
WATCHERS = Gauge(
    "rollcall_watch_streams",
    "Open WatchConference streams.",
    registry=REGISTRY,
)


async def _metrics(_: web.Request) -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def start_metrics(listen: str) -> tuple[web.AppRunner, int]:
    """Serve GET /metrics on host:port (port 0: any free port)."""
    host, _, port = listen.rpartition(":")
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or "127.0.0.1", int(port))
    await site.start()
    address = runner.addresses[0]
    return runner, int(address[1])
