"""The process's Prometheus registry, and the /metrics endpoint that serves it.

Rule 1: every metric of every part (faces, adapters, admission) is registered
in REGISTRY, never in prometheus_client's global one, so /metrics shows exactly
Rollcall's figures and tests read them without interference.
Rule 2: each part declares its own metrics in its own module
(service.rpc.metrics, service.webhooks.metrics, service.carriers.twilio.metrics);
this module imports none of them, so any part may import it.
Rule 3: labels are bounded: method, status code and result names, never SIDs.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)


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
