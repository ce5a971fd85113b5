"""Queue probes and the door's wait bound, on a real in-process grpc.aio server.

grpc's own queue cannot be filled on demand, so an interceptor in front of
the probe's stands in for it: it keeps probes back until released, exactly as
a queue that is not moving would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from service.gateway.status import from_rpc_error
from service.rpc.door import Door
from service.rpc.front import Front
from service.rpc.queue_probe import PROBE_HEADER, QueueProbe, own_target
from tests.poll import eventually

SAY = "/test.Echo/Say"
BOUND = 0.2


class StuckQueue(grpc.aio.ServerInterceptor):
    """Holds back probes (by their header) until `moving` is set; fails them
    instead while `dropping`."""

    def __init__(self) -> None:
        self.moving = asyncio.Event()
        self.moving.set()
        self.held = 0
        self.dropping = False

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        if any(key == PROBE_HEADER for key, _ in details.invocation_metadata or ()):
            if self.dropping:
                return grpc.unary_unary_rpc_method_handler(_fail)
            self.held += 1
            await self.moving.wait()
        return await continuation(details)


async def _fail(request: bytes, context: Any) -> bytes:
    await context.abort(grpc.StatusCode.UNAVAILABLE, "lost")
    raise AssertionError("unreachable")


class Rig:
    def __init__(self) -> None:
        self.queue = StuckQueue()
        self.probe = QueueProbe(interval=0.01)
        self.door = Door(self.probe.waited, BOUND)
        self.handled = 0
        self.server = grpc.aio.server(interceptors=[self.queue])
        on = Front(self.door, self.probe).registrar(self.server)

        async def say(request: bytes, context: Any) -> bytes:
            self.handled += 1
            return request

        on.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "test.Echo", {"Say": grpc.unary_unary_rpc_method_handler(say)}
                ),
            )
        )
        health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), on)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.say = self.channel.unary_unary(SAY)
        self.check = health_pb2_grpc.HealthStub(self.channel).Check


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    await r.server.start()
    await r.probe.start(f"127.0.0.1:{r.port}")
    try:
        yield r
    finally:
        r.queue.moving.set()
        await r.probe.close()
        await r.channel.close()
        await r.server.stop(0)


async def test_a_probe_is_answered_by_the_probe_alone_and_then_reads_no_wait(rig: Rig) -> None:
    assert await rig.say(b"one", timeout=10) == b"one"
    assert rig.handled == 1
    await eventually(lambda: rig.probe.sent == 1, "a probe was sent")
    await eventually(lambda: rig.probe.waited(SAY) == 0.0, "the probe came out")
    # Health checks are never probed.
    await rig.check(health_pb2.HealthCheckRequest(), timeout=10)
    assert rig.probe.sent == 1


async def test_the_probe_header_without_the_secret_is_an_ordinary_call(rig: Rig) -> None:
    forged = await rig.say(b"hi", metadata=((PROBE_HEADER, "guess.1"),), timeout=10)
    assert forged == b"hi" and rig.handled == 1


async def test_calls_behind_a_stuck_queue_are_refused_typed_and_served_again_once_it_moves(
    rig: Rig,
) -> None:
    rig.queue.moving.clear()
    assert await rig.say(b"first", timeout=10) == b"first"  # sends a probe, which sticks
    await eventually(lambda: rig.queue.held == 1, "the probe is queued")
    await eventually(lambda: rig.probe.waited(SAY) > BOUND, "the probe waited past the bound")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rig.say(b"late", timeout=10)
    error = refused.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert from_rpc_error(error).reason == "OVERLOADED"
    status = rpc_status.from_call(error)
    assert status is not None
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    assert rig.handled == 1  # refused before its handler
    # Health is never refused for waiting.
    answer = await rig.check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    rig.queue.moving.set()
    await eventually(lambda: rig.probe.waited(SAY) == 0.0, "the queue drained")
    assert await rig.say(b"again", timeout=10) == b"again"


async def test_a_lost_probe_stops_counting(rig: Rig) -> None:
    rig.queue.dropping = True
    await rig.say(b"first", timeout=10)
    await eventually(lambda: rig.probe.sent == 1, "a probe was sent")
    await eventually(lambda: rig.probe.waited(SAY) == 0.0, "the lost probe was dropped")
    assert rig.queue.held == 0


async def test_a_door_without_a_bound_never_refuses_for_waiting() -> None:
    door = Door(lambda method: 1e9, max_wait=0.0)
    assert door.overdue(SAY) is None


def test_the_server_probes_its_own_port_where_it_can_reach_it() -> None:
    assert own_target("0.0.0.0:0", 5) == "127.0.0.1:5"
    assert own_target("[::]:50051", 5) == "127.0.0.1:5"
    assert own_target(":50051", 5) == "127.0.0.1:5"
    assert own_target("127.0.0.2:0", 5) == "127.0.0.2:5"
    assert own_target("[::1]:0", 5) == "[::1]:5"
    assert own_target("rollcall.internal:50051", 5) == "rollcall.internal:5"
    assert own_target("unix:/run/rollcall.sock", 0) == "unix:/run/rollcall.sock"
