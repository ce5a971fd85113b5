"""The door of a real in-process grpc.aio server (asked by service.rpc.front):
refusals typed, streams ended UNAVAILABLE, held calls answered only once grpc
has begun to stop, so that a retry is refused by the transport and never
cancelled by grpc."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from service.gateway.status import from_rpc_error
from service.rpc.door import Door
from service.rpc.front import Front
from tests.poll import eventually

ECHO = "/test.Echo/Say"


class Rig:
    def __init__(self, door: Door) -> None:
        self.door = door
        self.release_echo = asyncio.Event()
        self.echo_started = 0
        self.server = grpc.aio.server()
        on = Front(door).registrar(self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, on)

        async def say(request: bytes, context: Any) -> bytes:
            self.echo_started += 1
            await self.release_echo.wait()
            return request

        on.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("test.Echo", {"Say": _raw(say)}),)
        )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.say = self.channel.unary_unary(ECHO)
        self.check = health_pb2_grpc.HealthStub(self.channel).Check
        self.watch = health_pb2_grpc.HealthStub(self.channel).Watch


def _raw(behaviour: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(behaviour)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig(Door())
    await r.server.start()
    try:
        yield r
    finally:
        r.release_echo.set()
        await r.channel.close()
        await r.server.stop(0)


def outcome(error: grpc.aio.AioRpcError) -> str:
    return f"{error.code().name}/{from_rpc_error(error).reason}"


async def test_a_closed_door_refuses_new_calls_typed_and_still_answers_health(rig: Rig) -> None:
    rig.release_echo.set()
    assert await rig.say(b"hi", timeout=10) == b"hi"
    rig.door.close()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rig.say(b"hi", timeout=10)
    assert outcome(refused.value) == "UNAVAILABLE/SHUTTING_DOWN"
    answer = await rig.check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as watch_refused:
        await rig.watch(health_pb2.HealthCheckRequest()).read()
    assert outcome(watch_refused.value) == "UNAVAILABLE/SHUTTING_DOWN"


async def test_finish_waits_out_the_grace_then_ends_calls_and_streams_unavailable(
    rig: Rig,
) -> None:
    stream = rig.watch(health_pb2.HealthCheckRequest())
    assert (await stream.read()).status == health_pb2.HealthCheckResponse.SERVING
    running = asyncio.ensure_future(rig.say(b"slow", timeout=10))
    await eventually(lambda: rig.echo_started == 1, "the call reached its handler")
    assert await rig.door.finish(0) == 2
    with pytest.raises(grpc.aio.AioRpcError) as call_ended:
        await running
    assert outcome(call_ended.value) == "UNAVAILABLE/SHUTTING_DOWN"
    with pytest.raises(grpc.aio.AioRpcError) as stream_ended:
        await stream.read()
    assert outcome(stream_ended.value) == "UNAVAILABLE/SHUTTING_DOWN"


async def test_finish_lets_a_call_that_ends_within_the_grace_answer_ok(rig: Rig) -> None:
    running = asyncio.ensure_future(rig.say(b"soon", timeout=10))
    await eventually(lambda: rig.echo_started == 1, "the call reached its handler")
    finishing = asyncio.ensure_future(rig.door.finish(30))
    rig.release_echo.set()
    assert await running == b"soon"
    assert await finishing == 0


async def test_held_calls_are_answered_after_grpc_began_to_stop_so_retries_are_never_cancelled(
    rig: Rig,
) -> None:
    """Callers retrying SHUTTING_DOWN at once, as a client with a retry policy
    does: after the release, each retry meets the closed transport. This also
    pins what service.app relies on: grpc's stop() sends its GOAWAY before it
    first suspends."""
    await rig.door.finish(0)
    outcomes: collections.Counter[str] = collections.Counter()

    async def caller() -> None:
        while True:
            try:
                await rig.say(b"x", timeout=10)
            except grpc.aio.AioRpcError as error:
                outcomes[outcome(error)] += 1
                if outcome(error) != "UNAVAILABLE/SHUTTING_DOWN":
                    return
            else:
                outcomes["OK"] += 1

    callers = [asyncio.ensure_future(caller()) for _ in range(64)]
    await eventually(
        lambda: outcomes["UNAVAILABLE/SHUTTING_DOWN"] >= 256, "callers met the closed door"
    )
    await rig.door.hold(quiet=0.2, limit=10)
    # Every caller comes to wait on a held call: the door still holds after
    # the quiet spell, and on a loaded machine a caller may take longer than
    # it to send its retry.
    await eventually(lambda: rig.door.held == 64, "every caller waits on a held call")
    assert rig.door.held == 64
    stopping = asyncio.ensure_future(rig.server.stop(5))
    await asyncio.sleep(0)
    rig.door.release()
    await asyncio.wait_for(asyncio.gather(*callers), timeout=30)
    await stopping
    assert outcomes["UNAVAILABLE/SHUTTING_DOWN"] >= 256 + 64, outcomes
    assert set(outcomes) <= {"UNAVAILABLE/SHUTTING_DOWN", "UNAVAILABLE/UNAVAILABLE"}, outcomes
    assert outcomes["UNAVAILABLE/UNAVAILABLE"] == 64, outcomes


async def test_an_idle_door_holds_nothing_up() -> None:
    door = Door()
    door.close()
    await asyncio.wait_for(door.hold(quiet=30, limit=60), timeout=10)
    door.release()
