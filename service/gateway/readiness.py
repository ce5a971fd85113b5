"""Kubernetes HTTP probes on the REST port: GET /livez and GET /readyz.

Rule 1: /livez answers 200 whenever the process answers HTTP at all: a
        liveness probe restarts only a process that is stuck, never one
        waiting for its database to come back.
Rule 2: /readyz answers 200 `{"status": "SERVING"}` while the service can
        serve and 503 `{"status": "NOT_SERVING"}` while it cannot (the store
        fails its probes, or the server drains): the same answer as gRPC
        health, from the same source (in process: the app's health; the
        standalone gateway: its upstream's gRPC health).
Rule 3: neither asks for credentials nor says more than that, and neither
        is written to the request log (a kubelet asks every few seconds;
        service.gateway.observe leaves out PATHS).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Ready = Callable[[], Awaitable[bool]]
LIVE_PATH = "/livez"
READY_PATH = "/readyz"
_READY_KEY: web.AppKey[Ready] = web.AppKey("rollcall_ready")


PATHS = frozenset({LIVE_PATH, READY_PATH})


async def _live(_: web.Request) -> web.Response:
    return web.json_response({"status": "SERVING"})


async def _ready(request: web.Request) -> web.Response:
    if await request.app[_READY_KEY]():
        return web.json_response({"status": "SERVING"})
    return web.json_response({"status": "NOT_SERVING"}, status=503)


def add_routes(app: web.Application, ready: Ready) -> None:
    app[_READY_KEY] = ready
    app.router.add_get(LIVE_PATH, _live)
    app.router.add_get(READY_PATH, _ready)
