"""Every error on an `.xml`, no-suffix or `.csv` URI comes in that representation.

Not only a handler's refusals: a URI no route matches (404), a method the
route has not got (405), a failing upstream (500), a body that does not decode
(400), a body that comes too late (408) and an unsupported `Expect` (417), over
real HTTP against a real gateway in front of the real service. `.json` keeps
Twilio's error JSON (tests/gateway/test_http_errors.py, test_http_hostile.py).
"""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from service.gateway.server import Gateway
from tests.gateway.conftest import TwilioEnv, basic, server_env
from tests.gateway.http_helpers import (
    FORM,
    MARKER,
    _port,
    exchange,
    split_response,
    trickle,
)
from tests.gateway.recording_upstream import RecordingUpstream

SUFFIXES = ["", ".xml", ".csv"]


def assert_in_kind(
    suffix: str, status: int, headers: dict[str, str], body: bytes, code: int
) -> str:
    """The error's message, once its representation and fields are checked."""
    text = body.decode()
    assert MARKER not in text
    if suffix == ".csv":
        assert headers["content-type"].startswith("text/csv"), (headers, text)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 1, text
        (row,) = rows
        assert list(row) == ["Code", "Message", "MoreInfo", "Status"]
        fields = row
    else:
        assert headers["content-type"].startswith("application/xml"), (headers, text)
        root = ET.fromstring(text)  # noqa: S314 - our own server under test
        assert root.tag == "TwilioResponse" and len(root) == 1
        (error,) = root
        assert error.tag == "RestException"
        assert [c.tag for c in error] == ["Code", "Message", "MoreInfo", "Status"]
        fields = {c.tag: c.text or "" for c in error}
    assert (fields["Code"], fields["Status"]) == (str(code), str(status)), fields
    assert fields["MoreInfo"] == f"https://www.twilio.com/docs/errors/{code}"
    return fields["Message"]


async def answer(response: aiohttp.ClientResponse) -> tuple[int, dict[str, str], bytes]:
    headers = {k.lower(): v for k, v in response.headers.items()}
    return response.status, headers, await response.read()


def participants(env: TwilioEnv, suffix: str) -> str:
    return f"/2010-04-01/Accounts/{env.account_sid}/Conferences/R/Participants{suffix}"


def raw_request(env: TwilioEnv, target: str, extra: str = "", body: bytes = b"") -> bytes:
    return (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {basic(env.account_sid, env.auth_token)}\r\n"
        f"Content-Type: {FORM}\r\n{extra}Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_a_uri_no_route_matches_is_a_404_in_its_representation(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, suffix: str
) -> None:
    for path in (f"/2010-04-01/Accounts/{twilio_env.account_sid}/Nothing{suffix}", f"/x{suffix}"):
        async with http.get(path) as response:
            status, headers, body = await answer(response)
        assert status == 404
        message = assert_in_kind(suffix, status, headers, body, 20404)
        assert message == f"The requested resource {path} was not found"


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_a_method_the_uri_has_not_got_is_a_405_in_its_representation(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, suffix: str
) -> None:
    async with http.put(participants(twilio_env, suffix)) as response:
        status, headers, body = await answer(response)
    assert status == 405
    assert "POST" in headers["allow"]
    assert_in_kind(suffix, status, headers, body, 20004)


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_a_failing_upstream_is_a_500_in_its_representation(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    suffix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken component inside the service (which the real one has not got)
    is played by the recording wrapper raising a bare RuntimeError."""
    upstream.fail_with = RuntimeError("secret detail")
    async with http.get(participants(twilio_env, suffix)) as response:
        status, headers, body = await answer(response)
    assert status == 500
    assert assert_in_kind(suffix, status, headers, body, 20500) == "Internal Server Error"
    assert b"secret" not in body
    assert "secret detail" in caplog.text


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_a_body_that_does_not_decode_is_a_400_in_its_representation(
    twilio_env: TwilioEnv, upstream: RecordingUpstream, suffix: str
) -> None:
    body = f"From=%2B15005550006&To=%2B15558675310&Label={MARKER}".encode()
    target = participants(twilio_env, suffix)
    request = raw_request(twilio_env, target, "Content-Encoding: gzip\r\n", body)
    status, headers, reply = split_response(await exchange(_port(twilio_env), request))
    assert status == 400
    assert "Content-Encoding" in assert_in_kind(suffix, status, headers, reply, 400)
    assert headers["connection"] == "close"
    assert upstream.calls == []


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_a_late_body_is_a_408_in_its_representation(
    strict_gateway: Gateway,
    upstream: RecordingUpstream,
    suffix: str,
) -> None:
    env = server_env(strict_gateway.port)
    prefix = raw_request(env, participants(env, suffix)).replace(
        b"Content-Length: 0", b"Content-Length: 100000"
    )
    reply = await trickle(strict_gateway.port, prefix, b"From=%2B15005550006&")
    status, headers, body = split_response(reply)
    assert status == 408
    assert "body" in assert_in_kind(suffix, status, headers, body, 408)
    assert upstream.calls == []


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_an_unsupported_expectation_is_a_417_in_its_representation(
    twilio_env: TwilioEnv, upstream: RecordingUpstream, suffix: str
) -> None:
    request = raw_request(twilio_env, participants(twilio_env, suffix), "Expect: x-other\r\n")
    status, headers, body = split_response(await exchange(_port(twilio_env), request))
    assert status == 417
    assert_in_kind(suffix, status, headers, body, 417)
    assert upstream.calls == []
