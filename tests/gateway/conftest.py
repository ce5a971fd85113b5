"""Fixtures for the gateway tests.

Two kinds of environment:

* `twilio_env`: the gateway over InMemoryUpstream, a stand-in for the service
  that records what the gateway sent. The HTTP-layer tests use it, once with
  the stand-in called in-process ("direct") and once through GrpcUpstream on a
  real channel ("grpc").
* `sdk_env`: what the SDK-driven tests (test_twilio_sdk.py) run against: the
  stand-in, the real server's own in-process gateway (the `harness` of
  tests/conftest.py: gRPC + gateway on ephemeral ports, ManualClock), and a
  standalone gateway (GrpcUpstream) in front of the real server's gRPC port,
  as `rollcall gateway` runs it.
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
from tests import conftest as server_conftest
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


def stand_in_env(upstream: InMemoryUpstream, port: int) -> TwilioEnv:
    account_sid, token = upstream.add_account()
    key_sid, secret = upstream.add_api_key(account_sid)
    other_sid, other_token = upstream.add_account()
    return TwilioEnv(
        base_url=f"http://127.0.0.1:{port}",
        account_sid=account_sid,
        auth_token=token,
        api_key_sid=key_sid,
        api_key_secret=secret,
        other_account_sid=other_sid,
        other_auth_token=other_token,
    )


def server_env(port: int) -> TwilioEnv:
    c = server_conftest
    return TwilioEnv(
        base_url=f"http://127.0.0.1:{port}",
        account_sid=c.ACCOUNT_SID,
        auth_token=c.AUTH_TOKEN,
        api_key_sid=c.KEY_SID,
        api_key_secret=c.KEY_SECRET,
        other_account_sid=c.OTHER_SID,
        other_auth_token=c.OTHER_TOKEN,
    )


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
    return stand_in_env(upstream, gateway.port)


@pytest.fixture
async def stand_in_sdk_env() -> AsyncIterator[TwilioEnv]:
    upstream = InMemoryUpstream()
    running = await start_gateway(upstream, "127.0.0.1:0")
    yield stand_in_env(upstream, running.port)
    await running.close()


@pytest.fixture
def server_sdk_env(harness: server_conftest.Harness) -> TwilioEnv:
    assert harness.app.http_port is not None
    return server_env(harness.app.http_port)


@pytest.fixture
async def standalone_sdk_env(harness: server_conftest.Harness) -> AsyncIterator[TwilioEnv]:
    standalone = await start_gateway(GrpcUpstream(harness.channel), "127.0.0.1:0")
    yield server_env(standalone.port)
    await standalone.close()


@pytest.fixture(params=["stand_in", "server", "standalone"])
def sdk_env(request: pytest.FixtureRequest) -> TwilioEnv:
    env: TwilioEnv = request.getfixturevalue(f"{request.param}_sdk_env")
    return env


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


def _clients(env: TwilioEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioClientFactory]:
    for name in _SDK_HOSTILE_ENV:
        monkeypatch.delenv(name, raising=False)
    made: list[Client] = []

    def make(
        username: str | None = None, password: str | None = None, account_sid: str | None = None
    ) -> Client:
        client = Client(
            username or env.account_sid, password or env.auth_token, account_sid=account_sid
        )
        client.api.base_url = env.base_url
        made.append(client)
        return client

    yield make
    for client in made:
        if client.http_client.session is not None:
            client.http_client.session.close()


@pytest.fixture
def twilio_client(
    sdk_env: TwilioEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TwilioClientFactory]:
    """Makes unmodified twilio SDK clients pointed at `sdk_env`'s gateway.

    `twilio_client()` authenticates as the main account; pass username,
    password (and account_sid for an API key) for anything else. The SDK is
    synchronous: call it through asyncio.to_thread while the gateway serves
    on the test's loop.
    """
    yield from _clients(sdk_env, monkeypatch)


@pytest.fixture
def stand_in_client(
    twilio_env: TwilioEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TwilioClientFactory]:
    """Like `twilio_client`, on the stand-in gateway of `twilio_env`."""
    yield from _clients(twilio_env, monkeypatch)
