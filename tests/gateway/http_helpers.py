"""Helpers for the gateway's HTTP tests: URIs, a create call, error checks, and raw
socket exchanges (whole requests, trickled ones)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.gateway.conftest import TwilioEnv, basic

FORM = "application/x-www-form-urlencoded"
ERROR_KEYS = {"code", "message", "more_info", "status"}


def collection(env: TwilioEnv, conference: str) -> str:
    return f"/2010-04-01/Accounts/{env.account_sid}/Conferences/{conference}/Participants.json"


def instance(env: TwilioEnv, conference: str, participant: str) -> str:
    return (
        f"/2010-04-01/Accounts/{env.account_sid}/Conferences/{conference}"
        f"/Participants/{participant}.json"
    )


async def create(
    http: aiohttp.ClientSession,
    env: TwilioEnv,
    conference: str = "Room 1",
    **fields: str,
) -> dict[str, Any]:
    data = {"From": "+15005550006", "To": "+15558675310", **fields}
    async with http.post(collection(env, quote(conference)), data=data) as response:
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def twilio_error(response: aiohttp.ClientResponse, status: int, code: int) -> str:
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == ERROR_KEYS  # never RFC 9457's type+title
    assert body["status"] == status
    assert body["code"] == code
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    message: str = body["message"]
    return message


async def raw_http(env: TwilioEnv, head: str, body: bytes = b"", extra: bytes = b"") -> bytes:
    """One request in raw HTTP/1.1, for what aiohttp's client will not send."""
    host, port = "127.0.0.1", int(env.base_url.rsplit(":", 1)[1])
    auth = basic(env.account_sid, env.auth_token)
    request = (
        f"{head} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request + extra + b"\r\n" + body)
    await writer.drain()
    reply = await reader.read()
    writer.close()
    await writer.wait_closed()
    return reply


MARKER = "zq7marker"
# Bound on any wait for the server; the deadlines under test are far shorter.
WAIT = 20.0


def _port(env: TwilioEnv) -> int:
    return int(env.base_url.rsplit(":", 1)[1])


async def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(WAIT):
            return await reader.read()
    finally:
        writer.close()


def split_response(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


async def trickle(port: int, prefix: bytes, drip: bytes) -> bytes:
    """Send `prefix`, then one byte of `drip` at a time, forever: return what the
    server answered once it closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(prefix)
    received = b""
    try:
        async with asyncio.timeout(WAIT):
            for index in range(10**6):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    writer.write(drip[index % len(drip) : index % len(drip) + 1])
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 0.02)
                except TimeoutError:
                    continue
                except ConnectionError:
                    return received
                if not chunk:
                    return received
                received += chunk
    finally:
        writer.close()
    raise AssertionError("unreachable")
