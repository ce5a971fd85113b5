"""`rollcall gateway`: the gateway alone in front of a remote gRPC service."""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import signal
import sys

import aiohttp
import pytest

from service.gateway.server import Gateway, parse_listen
from service.gateway.standalone import serve_gateway
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness
from tests.gateway.conftest import basic

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def grpc_target(service: Harness) -> str:
    """The real service's gRPC port."""
    return service.grpc_target


async def create_through(port: int) -> dict[str, object]:
    account_sid, token = ACCOUNT_SID, AUTH_TOKEN
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
    grpc_target: str,
) -> None:
    stop = asyncio.Event()
    started: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(
        serve_gateway(grpc_target, "127.0.0.1:0", stop, started.set_result)
    )
    gateway = await started
    body = await create_through(gateway.port)
    assert str(body["call_sid"]).startswith("CA")
    # The real service authenticated the forwarded credentials as this account.
    assert body["account_sid"] == ACCOUNT_SID
    stop.set()
    await serving


async def test_run_gateway_serves_until_sigterm_and_exits_0(
    grpc_target: str,
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
    await create_through(port)
    child.send_signal(signal.SIGTERM)
    rest = await child.stderr.read()
    assert await child.wait() == 0, rest.decode()
    assert b"Traceback" not in rest


async def _probe(port: int, path: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize("reachable", [True, False])
async def test_the_gateway_is_ready_while_its_target_says_serving(
    grpc_target: str, reachable: bool
) -> None:
    """/readyz asks the target's gRPC health each time; /livez is the gateway's own."""
    target = grpc_target
    if not reachable:
        listen_host, _ = parse_listen(grpc_target)
        target = f"{listen_host}:1"  # nothing listens there
    stop = asyncio.Event()
    started: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(serve_gateway(target, "127.0.0.1:0", stop, started.set_result))
    gateway = await started
    try:
        ready = await _probe(gateway.port, "/readyz")
        assert ready == (
            (200, {"status": "SERVING"}) if reachable else (503, {"status": "NOT_SERVING"})
        )
        assert await _probe(gateway.port, "/livez") == (200, {"status": "SERVING"})
    finally:
        stop.set()
        await serving
