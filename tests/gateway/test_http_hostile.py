"""Hostile HTTP: malformed requests, bad bodies and slow clients, over real sockets.

Every refusal is Twilio error JSON that does not echo the client's bytes,
reaches nothing behind the gateway, and leaves at most a short DEBUG line
(never a traceback) in the log. Slow clients are dropped by the header, body
and idle deadlines; the tests wait for the server to close each socket.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from service.gateway.server import Gateway, start_gateway
from service.gateway.standalone import serve_gateway
from tests.conftest import Harness, make_settings, serving
from tests.gateway.conftest import TwilioEnv, basic, server_env
from tests.gateway.http_helpers import (
    ERROR_KEYS,
    FORM,
    MARKER,
    WAIT,
    _port,
    collection,
    exchange,
    split_response,
    trickle,
)
from tests.gateway.recording_upstream import RecordingUpstream


def assert_twilio_error(reply: bytes, status: int) -> str:
    got, headers, body = split_response(reply)
    assert got == status, reply[:300]
    assert headers["content-type"].startswith("application/json")
    parsed = json.loads(body)
    assert set(parsed) == ERROR_KEYS
    assert parsed["status"] == status
    assert MARKER not in body.decode("latin-1")
    message: str = parsed["message"]
    return message


def assert_quiet_log(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.WARNING, record.getMessage()
        assert MARKER not in record.getMessage()


def head(env: TwilioEnv, method: str = "POST", target: str = "", extra: str = "") -> str:
    target = target or collection(env, "R")
    return (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {basic(env.account_sid, env.auth_token)}\r\n{extra}"
    )


def hostile_requests(env: TwilioEnv) -> dict[str, bytes]:
    path = collection(env, "R")
    return {
        "url over 8 KiB": head(env, "GET", f"{path}?{MARKER}={'a' * 9000}").encode() + b"\r\n",
        "header over 8 KiB": (head(env, extra=f"X-{MARKER}: {'b' * 9000}\r\n") + "\r\n").encode(),
        "too many headers": (
            head(env, extra="".join(f"X-{MARKER}-{i}: v\r\n" for i in range(150))) + "\r\n"
        ).encode(),
        "unknown method": head(env, f"{MARKER}<x>").encode() + b"\r\n",
        "bad chunk size": (
            head(env, extra="Transfer-Encoding: chunked\r\n") + f"\r\n{MARKER}\r\nabc\r\n"
        ).encode(),
        "content-length and chunked": (
            head(env, extra="Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") + "\r\n0\r\n"
        ).encode(),
        "bad content-length": (head(env, extra=f"Content-Length: {MARKER}\r\n") + "\r\n").encode(),
        "header without colon": (head(env, extra=f"{MARKER} nothing\r\n") + "\r\n").encode(),
        "control byte in header": (head(env, extra=f"X-A: {MARKER}\x01\r\n") + "\r\n").encode(),
        "bad version": f"GET {path} HTTP/{MARKER}\r\n\r\n".encode(),
        "tls on the http port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + MARKER.encode(),
        "binary garbage": bytes(range(256)) + MARKER.encode() + b"\r\n\r\n",
    }


@pytest.mark.parametrize(
    "case",
    [
        "url over 8 KiB",
        "header over 8 KiB",
        "too many headers",
        "unknown method",
        "bad chunk size",
        "content-length and chunked",
        "bad content-length",
        "header without colon",
        "control byte in header",
        "bad version",
        "tls on the http port",
        "binary garbage",
    ],
)
async def test_malformed_http_is_a_twilio_400_that_echoes_nothing(
    case: str,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = await exchange(_port(twilio_env), hostile_requests(twilio_env)[case])
    assert_twilio_error(reply, 400)
    assert upstream.calls == []
    assert_quiet_log(caplog)


async def test_the_limits_are_named_in_the_message(twilio_env: TwilioEnv) -> None:
    requests = hostile_requests(twilio_env)
    message = assert_twilio_error(
        await exchange(_port(twilio_env), requests["url over 8 KiB"]), 400
    )
    assert "too long" in message
    message = assert_twilio_error(
        await exchange(_port(twilio_env), requests["too many headers"]), 400
    )
    assert "Too many header fields" in message


@pytest.mark.parametrize("expect", ["0", "x\x80y", "200-ok"])
async def test_an_unknown_expectation_is_a_twilio_417(
    expect: str,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data = (head(twilio_env, "GET", extra=f"Expect: {MARKER}{expect}\r\n") + "\r\n").encode(
        "latin-1"
    )
    assert_twilio_error(await exchange(_port(twilio_env), data), 417)
    assert upstream.calls == []
    assert_quiet_log(caplog)


async def test_non_ascii_basic_credentials_are_401(
    twilio_env: TwilioEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = (
        f"GET {collection(twilio_env, 'R')} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Basic {MARKER}\xe9\xe9\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    assert_twilio_error(await exchange(_port(twilio_env), data), 401)
    assert_quiet_log(caplog)


def form_request(env: TwilioEnv, body: bytes, extra: str = "") -> bytes:
    return (
        head(
            env,
            extra=f"Content-Type: {FORM}\r\n{extra}Content-Length: {len(body)}\r\n"
            "Connection: close\r\n",
        )
        + "\r\n"
    ).encode() + body


async def test_a_body_that_is_not_the_gzip_it_claims_is_400(
    twilio_env: TwilioEnv, upstream: RecordingUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = f"From=%2B15005550006&To=%2B15558675310&Label={MARKER}".encode()
    for encoding in ("gzip", "deflate"):
        reply = await exchange(
            _port(twilio_env),
            form_request(twilio_env, body, f"Content-Encoding: {encoding}\r\n"),
        )
        message = assert_twilio_error(reply, 400)
        assert "Content-Encoding" in message
    assert upstream.calls == []
    assert_quiet_log(caplog)


async def test_a_real_gzip_body_still_creates(twilio_env: TwilioEnv) -> None:
    body = gzip.compress(b"From=%2B15005550006&To=%2B15558675310")
    reply = await exchange(
        _port(twilio_env), form_request(twilio_env, body, "Content-Encoding: gzip\r\n")
    )
    assert split_response(reply)[0] == 201


async def test_more_than_1000_form_fields_is_a_400_saying_so(
    twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    fields = ["From=%2B15005550006", "To=%2B15558675310"]
    at_limit = "&".join(fields + [f"F{i}=" for i in range(998)]).encode()
    reply = await exchange(_port(twilio_env), form_request(twilio_env, at_limit))
    assert split_response(reply)[0] == 201
    calls = len(upstream.calls)
    over = "&".join(fields + [f"F{i}=" for i in range(999)]).encode()
    assert len(over) < 8 * 1024
    message = assert_twilio_error(
        await exchange(_port(twilio_env), form_request(twilio_env, over)), 400
    )
    assert "form fields" in message
    assert len(upstream.calls) == calls


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (bounded) until the server's state satisfies `predicate`."""
    async with asyncio.timeout(WAIT):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


def _server(gateway: Gateway) -> web.Server:
    server = gateway._runner.server
    assert server is not None
    return server


async def _wait_no_connections(gateway: Gateway) -> None:
    server = _server(gateway)
    await eventually(lambda: not server.connections)


async def test_a_client_leaving_mid_body_leaves_no_error_and_no_traceback(
    upstream: RecordingUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = await start_gateway(upstream, "127.0.0.1:0")
    try:
        env = server_env(gateway.port)
        _, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(
            (head(env, extra=f"Content-Type: {FORM}\r\nContent-Length: 1000\r\n") + "\r\n").encode()
            + b"From=%2B15005550006&To="
        )
        await writer.drain()
        # The request reaches the handler, which waits for the rest of the body.
        server = _server(gateway)
        await eventually(lambda: server.requests_count > 0)
        writer.close()
        await _wait_no_connections(gateway)
    finally:
        await gateway.close()
    assert upstream.calls == []
    assert_quiet_log(caplog)


# -- slow clients ---------------------------------------------------------------


async def test_a_trickled_request_head_is_dropped_with_a_408(
    strict_gateway: Gateway, upstream: RecordingUpstream
) -> None:
    env = server_env(strict_gateway.port)
    reply = await trickle(
        strict_gateway.port, b"", (head(env, "GET") + "X-Pad: " + "p" * 10**4).encode()
    )
    message = assert_twilio_error(reply, 408)
    assert "head" in message
    assert upstream.calls == []


async def test_a_trickled_body_is_dropped_with_a_408(
    strict_gateway: Gateway, upstream: RecordingUpstream
) -> None:
    env = server_env(strict_gateway.port)
    prefix = (
        head(env, extra=f"Content-Type: {FORM}\r\nContent-Length: 100000\r\n") + "\r\n"
    ).encode()
    reply = await trickle(strict_gateway.port, prefix, b"From=%2B15005550006&")
    message = assert_twilio_error(reply, 408)
    assert "body" in message
    assert upstream.calls == []


async def test_a_silent_connection_is_closed(strict_gateway: Gateway) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_gateway.port)
    try:
        async with asyncio.timeout(WAIT):
            assert await reader.read() == b""
    finally:
        writer.close()


async def test_an_idle_keep_alive_connection_is_closed_after_its_answer(
    strict_gateway: Gateway, upstream: RecordingUpstream
) -> None:
    env = server_env(strict_gateway.port)
    reply = await exchange(strict_gateway.port, (head(env, "GET") + "\r\n").encode())
    assert split_response(reply)[0] == 404  # answered, then closed while idle


async def test_many_slow_clients_are_all_dropped(
    strict_gateway: Gateway, upstream: RecordingUpstream
) -> None:
    env = server_env(strict_gateway.port)
    body_prefix = (
        head(env, extra=f"Content-Type: {FORM}\r\nContent-Length: 100000\r\n") + "\r\n"
    ).encode()
    clients = [trickle(strict_gateway.port, b"", head(env, "GET").encode()) for _ in range(40)]
    clients += [trickle(strict_gateway.port, body_prefix, b"To=1&") for _ in range(40)]
    replies = await asyncio.gather(*clients)
    assert all(split_response(reply)[0] == 408 for reply in replies)
    await _wait_no_connections(strict_gateway)
    assert upstream.calls == []


# -- the settings reach both deployments --------------------------------------------


async def test_rollcall_gateway_takes_its_deadlines_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, service: Harness
) -> None:
    monkeypatch.setenv("ROLLCALL_HTTP_HEADER_TIMEOUT_SECONDS", "0.2")
    stop = asyncio.Event()
    started: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    serving = asyncio.create_task(
        serve_gateway(service.grpc_target, "127.0.0.1:0", stop, started.set_result)
    )
    try:
        gateway = await started
        env = server_env(gateway.port)
        reply = await trickle(gateway.port, b"", head(env, "GET").encode())
        assert_twilio_error(reply, 408)
    finally:
        stop.set()
        await serving


async def test_rollcall_serve_takes_its_deadlines_from_its_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, http_body_timeout_seconds=0.2)
    async with serving(settings) as h:
        assert h.app.http_port is not None
        env = server_env(h.app.http_port)
        prefix = (
            head(env, extra=f"Content-Type: {FORM}\r\nContent-Length: 100000\r\n") + "\r\n"
        ).encode()
        reply = await trickle(h.app.http_port, prefix, b"To=1&")
        assert_twilio_error(reply, 408)
