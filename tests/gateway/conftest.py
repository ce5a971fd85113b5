"""Fixtures for the gateway tests: a gateway on a real port over a stand-in upstream.

`twilio_env` is what the SDK-driven tests (test_twilio_sdk.py) need to know
about a running server. Here it is backed by InMemoryUpstream; the end-to-end
harness can provide the same fixture from the real server (gRPC + gateway
with ManualClock and the demo account) and the same tests run against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import grpc
import pytest
from twilio.rest import Client

from service.gateway.server import Gateway, start_gateway
from service.gateway.upstream import GrpcUpstream
from tests.gateway.grpc_stand_in import start_grpc_stand_in
from tests.gateway.memory_upstream import InMemoryUpstream


@dataclasses.dataclass(frozen=True)
class TwilioEnv:
    base_url: str
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    # A second account that must never see the first one's resources.
    other_account_sid: str
    other_auth_token: str


def basic(username: str, password: str) -> str:
    """An Authorization header value for HTTP Basic credentials."""
    return aiohttp.encode_basic_auth(username, password)


@pytest.fixture
def upstream() -> InMemoryUpstream:
    return InMemoryUpstream()


@pytest.fixture(params=["direct", "grpc"])
async def gateway(
    request: pytest.FixtureRequest, upstream: InMemoryUpstream
) -> AsyncIterator[Gateway]:
    """The gateway over the stand-in: called in-process ("direct", as `rollcall
    serve` runs it) or through GrpcUpstream on a real channel ("grpc", as
    `rollcall gateway` runs it)."""
    if request.param == "direct":
        running = await start_gateway(upstream, "127.0.0.1:0")
        yield running
        await running.close()
        return
    server, port = await start_grpc_stand_in(upstream)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    running = await start_gateway(GrpcUpstream(channel), "127.0.0.1:0")
    yield running
    await running.close()
    await channel.close()
    await server.stop(None)


@pytest.fixture
def twilio_env(upstream: InMemoryUpstream, gateway: Gateway) -> TwilioEnv:
    account_sid, token = upstream.add_account()
    key_sid, secret = upstream.add_api_key(account_sid)
    other_sid, other_token = upstream.add_account()
    return TwilioEnv(
        base_url=f"http://127.0.0.1:{gateway.port}",
        account_sid=account_sid,
        auth_token=token,
        api_key_sid=key_sid,
        api_key_secret=secret,
        other_account_sid=other_sid,
        other_auth_token=other_token,
    )


@pytest.fixture
async def http(twilio_env: TwilioEnv) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP client on the gateway, authenticated as the main account."""
    async with aiohttp.ClientSession(
        base_url=twilio_env.base_url,
        headers={"Authorization": basic(twilio_env.account_sid, twilio_env.auth_token)},
    ) as session:
        yield session


# Environment that would make the twilio SDK rewrite or proxy 127.0.0.1 URLs.
_SDK_HOSTILE_ENV = (
    "TWILIO_REGION",
    "TWILIO_EDGE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

TwilioClientFactory = Callable[..., Client]


@pytest.fixture
def twilio_client(
    twilio_env: TwilioEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TwilioClientFactory]:
    """Makes unmodified twilio SDK clients pointed at the gateway.

    `twilio_client()` authenticates as the main account; pass username,
    password (and account_sid for an API key) for anything else. The SDK is
    synchronous: call it through asyncio.to_thread while the gateway serves
    on the test's loop.
    """
    for name in _SDK_HOSTILE_ENV:
        monkeypatch.delenv(name, raising=False)
    made: list[Client] = []

    def make(
        username: str | None = None, password: str | None = None, account_sid: str | None = None
    ) -> Client:
        client = Client(
            username or twilio_env.account_sid,
            password or twilio_env.auth_token,
            account_sid=account_sid,
        )
        client.api.base_url = twilio_env.base_url
        made.append(client)
        return client

    yield make
    for client in made:
        if client.http_client.session is not None:
            client.http_client.session.close()
