"""Reading a server's health as Kubernetes and load balancers do.

What it owns: waiting on gRPC health (grpc.health.v1 Watch streams, for the
server as a whole and each service) until it says a status, and asking the
REST gateway's probes (/readyz, /livez) over HTTP.
"""

from __future__ import annotations

import asyncio

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.app import HEALTH_NAMES

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
WAIT = 30.0


async def until_health(target: str, status: int, seconds: float = WAIT) -> None:
    """Until every name (the server, each service) says `status`, read from
    each one's Watch stream, which sends the current status and every change."""
    async with grpc.aio.insecure_channel(target) as channel, asyncio.timeout(seconds):
        stub = health_pb2_grpc.HealthStub(channel)
        for name in HEALTH_NAMES:
            stream = stub.Watch(health_pb2.HealthCheckRequest(service=name))
            try:
                while (await stream.read()).status != status:
                    pass
            finally:
                stream.cancel()


async def health(target: str) -> list[int]:
    """Each name's status, by Check."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return [
            (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=WAIT)).status
            for name in HEALTH_NAMES
        ]


async def probe(http_port: int, path: str) -> tuple[int, dict[str, str]]:
    """A kubelet's HTTP probe: the status code and the JSON body."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{http_port}{path}") as response,
    ):
        return response.status, await response.json()
