"""Fixtures for the gateway tests: a gateway on a real port over a stand-in upstream.

`twilio_env` is what the SDK-driven tests (test_twilio_sdk.py) need to know
about a running server. Here it is backed by InMemoryUpstream; the end-to-end
harness can provide the same fixture from the real server (gRPC + gateway
with ManualClock and the demo account) and the same tests run against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.gateway.server import Gateway, start_gateway
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


@pytest.fixture
def upstream() -> InMemoryUpstream:
    return InMemoryUpstream()


@pytest.fixture
async def gateway(upstream: InMemoryUpstream) -> AsyncIterator[Gateway]:
    running = await start_gateway(upstream, "127.0.0.1:0")
    yield running
    await running.close()


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
        auth=aiohttp.BasicAuth(twilio_env.account_sid, twilio_env.auth_token),
    ) as session:
        yield session
