"""A Rollcall killed between placing a call and recording it ends that call at restart.

Two real `rollcall serve` processes, as in test_twilio_carrier_two_processes:
B (simulated carrier, Twilio's URIs) is the carrier of A (--carrier twilio).
Between them, a relay in the test passes A's requests on to B, and holds
back B's answer to A's first Create: once B has placed the call (its 201 is
in the relay's hands) A is killed with SIGKILL, so A never records it. The
Create had no request_id, so no client retry would ever find the call.
Restarted on the same database, A looks the call up at B by its label
before serving and ends it: the call on B is over, A has no participant for
it, and A logs it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from aiohttp import web

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.process import ServerProcess
from tests.e2e.test_twilio_carrier_two_processes import (
    COMPLETE,
    MD,
    fetch,
    name,
)

pytestmark = pytest.mark.slow

_FORWARDED = ("Authorization", "Content-Type", "Accept", "User-Agent")


class Relay:
    """Passes requests on to the carrier; holds back the first Create's answer."""

    def __init__(self, carrier: str) -> None:
        self.carrier = carrier
        self.http: aiohttp.ClientSession | None = None
        self.held: dict[str, object] = {}  # the carrier's answer A never got
        self.placed = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        assert self.http is not None
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        async with self.http.request(
            request.method,
            self.carrier + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            status, kind = answer.status, answer.content_type
        creating = request.method == "POST" and request.path.endswith("/Participants.json")
        if creating and not self.placed.is_set():
            self.held = json.loads(body)
            self.placed.set()
            await self.release.wait()  # A is killed meanwhile: it never hears
        return web.Response(status=status, body=body, content_type=kind)


@contextlib.asynccontextmanager
async def relay_to(carrier: str) -> AsyncIterator[tuple[Relay, str]]:
    relay = Relay(carrier)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        relay.http = http
        try:
            yield relay, f"http://127.0.0.1:{port}"
        finally:
            relay.release.set()
            await runner.cleanup()


async def create_then_kill(a: ServerProcess, relay: Relay) -> tuple[str, str]:
    """Create through A and SIGKILL it once the carrier has placed the call,
    before A hears the answer: the call is never recorded there. Returns the
    carrier's CallSid and conference SID for it."""
    async with grpc.aio.insecure_channel(a.target) as a_channel:
        create = asyncio.ensure_future(
            pb_grpc.ParticipantServiceStub(a_channel).CreateParticipant(
                pb.CreateParticipantRequest(
                    parent=name("room"), from_endpoint="+15005550006", to_endpoint="+15551230001"
                ),
                metadata=MD,
            )
        )
        await asyncio.wait_for(relay.placed.wait(), timeout=30)
        a.kill()
        with pytest.raises(grpc.aio.AioRpcError):
            await create
    call_sid, conference = relay.held["call_sid"], relay.held["conference_sid"]
    assert isinstance(call_sid, str) and isinstance(conference, str)
    return call_sid, conference


async def test_a_call_placed_by_a_killed_rollcall_is_ended_at_restart(tmp_path: Path) -> None:
    b = ServerProcess(
        tmp_path / "b.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0", ROLLCALL_SIM_RING_SECONDS="0.2"
    )
    a = ServerProcess(tmp_path / "a.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0")
    a.log = tmp_path / "a.log"
    try:
        b.start()
        async with relay_to(f"http://127.0.0.1:{b.http_port}") as (relay, via):
            a.env.update(
                ROLLCALL_CARRIER="twilio",
                ROLLCALL_TWILIO_BASE_URL=via,
                ROLLCALL_TWILIO_ACCOUNTS=f"{ACCOUNT_SID}={ACCOUNT_SID}:{AUTH_TOKEN}",
                ROLLCALL_TWILIO_CALLS_PER_SECOND="0",
            )
            a.start()
            call_sid, carrier_conference = await create_then_kill(a, relay)
            async with grpc.aio.insecure_channel(b.target) as b_channel:
                on_b = pb_grpc.ParticipantServiceStub(b_channel)
                assert (await fetch(on_b, carrier_conference, call_sid)).status != COMPLETE
                # It serves only once its placements are resolved; the relay
                # runs on this loop, so the start waits in a thread.
                await asyncio.to_thread(a.start)
                assert (await fetch(on_b, carrier_conference, call_sid)).status == COMPLETE
        assert a.log.read_text().count("ended a call placed but never recorded") == 1
    finally:
        a.close()
        b.close()
