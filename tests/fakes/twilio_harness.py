"""The Twilio adapter wired to the fake carrier and to a real callback ingest server.

Everything talks over real sockets on 127.0.0.1: the adapter's HTTP client
to the fake carrier, the carrier's signed callbacks to Rollcall's ingest
routes (service.carrier_callbacks), whose `apply` records what arrives.
The adapter's time is a ManualClock that its own sleeps advance, so backoff
and pacing never wait for real and are visible in `sleeps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from service.carriers.twilio.adapter import TwilioCarrier
from service.carriers.twilio.config import TwilioOptions, UpstreamAccount
from service.carriers.twilio.ingest import add_routes, callback_urls
from service.clock import ManualClock
from service.core.ports.carrier import CallReport, ConferenceReport, Report
from tests.fakes.carrier import FakeCarrier, running

ACCOUNT = "AC" + "c" * 32  # the Rollcall account
UPSTREAM = "AC" + "d" * 32  # its upstream (carrier) account
UPSTREAM_TOKEN = "upstream-token-" + "4" * 17
WAIT_SECONDS = 10.0
TOKENS = {UPSTREAM: UPSTREAM_TOKEN}
UPSTREAM_KEY = "SK" + "e" * 32
UPSTREAM_KEY_SECRET = "upstream-secret-" + "5" * 16


@dataclasses.dataclass
class Received:
    """What the ingest route handed to `apply`, in arrival order."""

    items: list[tuple[Report, str | None]] = dataclasses.field(default_factory=list)
    _changed: asyncio.Condition = dataclasses.field(default_factory=asyncio.Condition)

    async def __call__(self, report: Report, token: str | None) -> None:
        async with self._changed:
            self.items.append((report, token))
            self._changed.notify_all()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        """Until `predicate` holds (checked on each arrival); TimeoutError after WAIT_SECONDS."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), WAIT_SECONDS)

    def calls(self, call_sid: str) -> list[CallReport]:
        return [r for r, _ in self.items if isinstance(r, CallReport) and r.call_sid == call_sid]

    def conference(self) -> list[ConferenceReport]:
        return [r for r, _ in self.items if isinstance(r, ConferenceReport)]


@dataclasses.dataclass
class TwilioRig:
    adapter: TwilioCarrier
    carrier: FakeCarrier
    received: Received
    clock: ManualClock
    sleeps: list[float]
    public_url: str


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def ingest_server(
    public_url_of: str | None, tokens: dict[str, str], received: Received
) -> AsyncIterator[str]:
    """Rollcall's ingest routes on an ephemeral port; yields its base URL."""
    sock = _free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = web.Application()
    add_routes(app, public_url_of or base, tokens.get, received)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield base
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def twilio_rig(
    *, api_key: bool = False, base_url: str | None = None, **options: float
) -> AsyncIterator[TwilioRig]:
    received = Received()
    async with (
        running(TOKENS, {UPSTREAM_KEY: (UPSTREAM_KEY_SECRET, UPSTREAM)}) as carrier,
        ingest_server(None, TOKENS, received) as public_url,
    ):
        clock = ManualClock()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            await clock.advance(seconds)

        upstream = UpstreamAccount(
            UPSTREAM,
            UPSTREAM_TOKEN,
            UPSTREAM_KEY if api_key else None,
            UPSTREAM_KEY_SECRET if api_key else None,
        )
        adapter = TwilioCarrier(
            {ACCOUNT: upstream},
            callback_urls(public_url),
            clock,
            TwilioOptions(base_url=base_url or carrier.base_url, **options),  # type: ignore[arg-type]
            sleep=sleep,
        )
        try:
            yield TwilioRig(adapter, carrier, received, clock, sleeps, public_url)
        finally:
            await adapter.close()


async def post(
    base: str, path: str, form: dict[str, str], *, signed_url: str | None = None,
    token: str = UPSTREAM_TOKEN, headers: dict[str, str] | None = None,
) -> int:  # fmt: skip
    """POST a callback form to base + path, signed for signed_url (else the URL); the status."""
    url = base + path
    signature = RequestValidator(token).compute_signature(signed_url or url, form)
    all_headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
        **(headers or {}),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=urlencode(form), headers=all_headers) as response,
    ):
        return response.status
