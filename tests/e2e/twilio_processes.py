"""Helpers for the tests of Rollcall processes dialing through the twilio adapter:
resource names, fetching a participant, statuses, and a relay in front of a carrier
that can be cut (a carrier outliving a killed process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp import web

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
STATUS = ppb.ParticipantStatus.DESCRIPTOR.values_by_name
QUEUED, RINGING, CONNECTED, COMPLETE = (
    STATUS[f"PARTICIPANT_STATUS_{name}"].number
    for name in ("QUEUED", "RINGING", "CONNECTED", "COMPLETE")
)


def name(conference: str, participant: str = "") -> str:
    parent = f"accounts/{ACCOUNT_SID}/conferences/{conference}"
    return f"{parent}/participants/{participant}" if participant else parent


async def fetch(stub: Any, conference: str, call_sid: str) -> Any:
    request = pb.FetchParticipantRequest(name=name(conference, call_sid), include_ended=True)
    return (await stub.FetchParticipant(request, metadata=MD)).participant


_FORWARDED = (
    "Authorization",
    "Content-Type",
    "Accept",
    "User-Agent",
    "X-Twilio-Signature",
    "I-Twilio-Idempotency-Token",
)


class Relay:
    """Passes requests on to the carrier (or, in front of Rollcall, the
    carrier's callbacks on to it), recording each; holds back the first
    Create's answer when `hold_first`; answers 204 and passes nothing on
    while `dropping` (lost callbacks)."""

    def __init__(self, carrier: str, *, hold_first: bool = True) -> None:
        self.carrier = carrier
        self.hold_first = hold_first
        self.dropping = False
        self.requests: list[tuple[str, str]] = []
        self.http: aiohttp.ClientSession | None = None
        self.held: dict[str, object] = {}  # the carrier's answer A never got
        self.placed = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        assert self.http is not None
        self.requests.append((request.method, request.path))
        if self.dropping:
            return web.Response(status=204)
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
        if creating and self.hold_first and not self.placed.is_set():
            self.held = json.loads(body)
            self.placed.set()
            await self.release.wait()  # A is killed meanwhile: it never hears
        return web.Response(status=status, body=body, content_type=kind)


@contextlib.asynccontextmanager
async def relay_to(carrier: str, *, hold_first: bool = True) -> AsyncIterator[tuple[Relay, str]]:
    relay = Relay(carrier, hold_first=hold_first)
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
