"""Fixtures for the gateway tests.

Every environment is the real service (App: real SQLite, ManualClock, on
ephemeral ports) behind a real gateway:

* `twilio_env`: a gateway started by the test over a RecordingUpstream, which
  forwards to the real service and notes what the gateway sent. The
  HTTP-layer tests use it, once with the service called in process
  ("direct", LocalUpstream, as `rollcall serve` runs it) and once through
  GrpcUpstream on a real channel ("grpc", as `rollcall gateway` runs it).
* `sdk_env`: what the SDK-driven tests (test_twilio_sdk.py) run against: the
  real server's own in-process gateway (the `harness` of tests/conftest.py),
  and a standalone gateway (GrpcUpstream) in front of the real server's gRPC
  port, as `rollcall gateway` runs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from twilio.rest import Client

from service.gateway.grpc_upstream import GrpcUpstream
from service.gateway.protocol import HttpLimits
from service.gateway.server import Gateway, start_gateway
from service.gateway.upstream import LocalUpstream
from tests import conftest as server_conftest
from tests.gateway.recording_upstream import RecordingUpstream


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
async def service(tmp_path: Path) -> AsyncIterator[server_conftest.Harness]:
    """The real service with no REST gateway of its own. Its simulated carrier
    places one call a second per account, so a create made while another call
    waits for its slot reports a real queue time."""
    async with server_conftest.started(tmp_path, sim_calls_per_second=1.0) as harness:
        yield harness


@pytest.fixture(params=["direct", "grpc"])
def upstream(request: pytest.FixtureRequest, service: server_conftest.Harness) -> RecordingUpstream:
    """The real service as the gateway reaches it, recorded: in process
    ("direct", as `rollcall serve` runs it) or through GrpcUpstream on a real
    channel ("grpc", as `rollcall gateway` runs it)."""
    if request.param == "direct":
        assert service.app.api is not None and service.app.conference_api is not None
        return RecordingUpstream(LocalUpstream(service.app.api, service.app.conference_api))
    return RecordingUpstream(GrpcUpstream(service.channel))


@pytest.fixture
async def gateway(upstream: RecordingUpstream) -> AsyncIterator[Gateway]:
    """A gateway over the recorded real service."""
    running = await start_gateway(upstream, "127.0.0.1:0")
    yield running
    await running.close()


@pytest.fixture
def twilio_env(gateway: Gateway) -> TwilioEnv:
    return server_env(gateway.port)


@pytest.fixture
def server_sdk_env(harness: server_conftest.Harness) -> TwilioEnv:
    assert harness.app.http_port is not None
    return server_env(harness.app.http_port)


@pytest.fixture
async def standalone_sdk_env(harness: server_conftest.Harness) -> AsyncIterator[TwilioEnv]:
    standalone = await start_gateway(GrpcUpstream(harness.channel), "127.0.0.1:0")
    yield server_env(standalone.port)
    await standalone.close()


@pytest.fixture(params=["server", "standalone"])
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
def gateway_client(
    twilio_env: TwilioEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TwilioClientFactory]:
    """Like `twilio_client`, on the recorded gateway of `twilio_env`."""
    yield from _clients(twilio_env, monkeypatch)


# Short deadlines, for the slow-client tests (test_http_hostile, test_error_representations).
LIMITS = HttpLimits(header_timeout=0.3, body_timeout=0.3, idle_timeout=0.5)


@pytest.fixture
async def strict_gateway(upstream: RecordingUpstream) -> AsyncIterator[Gateway]:
    running = await start_gateway(upstream, "127.0.0.1:0", limits=LIMITS)
    yield running
    await running.close()
