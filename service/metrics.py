"""The process's Prometheus registry, and the /metrics endpoint that serves it.

Rule 1: every metric of every part (faces, adapters, admission) is registered
in REGISTRY, never in prometheus_client's global one, so /metrics shows exactly
Rollcall's figures and tests read them without interference.
Rule 2: each part declares its own metrics in its own module
(service.rpc.metrics, service.gateway.metrics, service.webhooks.metrics,
service.carriers.twilio.metrics); this module imports none of them, so any part
may import it.
Rule 3: labels are bounded: method, route template, status code and result
names, never SIDs.
Rule 4: REGISTRY also carries the process, platform and garbage collector
figures (prometheus_client's default collectors) and `rollcall_build_info`;
counters export no `_created` series.
"""

from __future__ import annotations

import importlib.metadata
import platform

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# A `_created` sample beside every counter doubles the series for a figure
# rate() never needs.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)
# prometheus_client's default collectors, in this registry.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

DISTRIBUTION = "rollcall-conferences"


def version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a tree
        return "unknown"


BUILD_INFO = Gauge(
    "rollcall_build_info",
    "Always 1; the labels say which Rollcall and Python this process runs.",
    ["version", "python_version"],
    registry=REGISTRY,
)
BUILD_INFO.labels(version(), platform.python_version()).set(1)


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
