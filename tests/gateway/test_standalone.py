"""`rollcall gateway`: the gateway alone in front of a remote gRPC service."""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.gateway.server import Gateway, parse_listen
from service.gateway.standalone import serve_gateway
from tests.gateway.conftest import basic
from tests.gateway.grpc_stand_in import start_grpc_stand_in
from tests.gateway.memory_upstream import InMemoryUpstream

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
async def grpc_target(upstream: InMemoryUpstream) -> AsyncIterator[str]:
    server, port = await start_grpc_stand_in(upstream)
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def create_through(port: int, upstream: InMemoryUpstream) -> dict[str, object]:
    account_sid, token = upstream.add_account()
    async with (
        aiohttp.ClientSession(headers={"Authorization": basic(account_sid, token)}) as http,
        http.post(
            f"http://127.0.0.1:{port}/2010-04-01/Accounts/{account_sid}"
            "/Conferences/Standalone/Participants.json",
            data={"From": "+15005550006", "To": "+15558675310"},
        ) as response,
    ):
        assert response.status == 201, await response.text()
        body: dict[str, object] = await response.json()
        return body


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen(":9000") == (None, 9000)
    with pytest.raises(ValueError, match="host:port"):
        parse_listen("localhost")


async def test_serve_gateway_forwards_credentials_and_stops_on_request(
    grpc_target: str, upstream: InMemoryUpstream
) -> None:
    stop = asyncio.Event()
    started: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(
        serve_gateway(grpc_target, "127.0.0.1:0", stop, started.set_result)
    )
    gateway = await started
    body = await create_through(gateway.port, upstream)
    assert str(body["call_sid"]).startswith("CA")
    assert upstream.calls[-1].authorization is not None
    stop.set()
    await serving


async def test_run_gateway_serves_until_sigterm_and_exits_0(
    grpc_target: str, upstream: InMemoryUpstream
) -> None:
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from service.gateway.standalone import run_gateway\n"
        f"sys.exit(run_gateway({grpc_target!r}, '127.0.0.1:0'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stderr=asyncio.subprocess.PIPE, env=env
    )
    assert child.stderr is not None
    port = None
    while port is None:
        line = (await child.stderr.readline()).decode()
        assert line, "the gateway exited before it listened"
        if match := re.search(r"listening on port (\d+)", line):
            port = int(match.group(1))
    await create_through(port, upstream)
    child.send_signal(signal.SIGTERM)
    rest = await child.stderr.read()
    assert await child.wait() == 0, rest.decode()
    assert b"Traceback" not in rest
