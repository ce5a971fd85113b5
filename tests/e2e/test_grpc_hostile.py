"""Hostile input over gRPC: credentials never logged, typed errors for bytes,
headers and page tokens an attacker crafts, bounded fields and echoes."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.core import errors as service_errors
from service.rpc import limits
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    Harness,
    basic,
    make_settings,
    serving,
)
from tests.e2e.helpers import create, expect_error, fetch
from tests.e2e.hostile import assert_clean_log, assert_typed, h2_call, logged_server

SERVICE = "/rollcall.v1.ParticipantService/"
_AUTH = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}


def test_non_utf8_credentials_never_reach_the_log(tmp_path: Path) -> None:
    """grpcio logs a metadata value that is not UTF-8 whole; it must come out
    redacted, without a traceback, even at DEBUG."""
    with logged_server(tmp_path, ROLLCALL_LOG_LEVEL="DEBUG") as server:
        fetch = (SERVICE + "FetchParticipant").encode()
        good = basic(ACCOUNT_SID, AUTH_TOKEN).encode()
        for value in (
            good + b"\xff",
            basic(KEY_SID, KEY_SECRET).encode() + b"\xfe",
            basic(OTHER_SID, OTHER_TOKEN).encode()[6:] + b"\xc3",  # no scheme word
            b"Basic \xc3\xa9" + good[6:],
        ):
            answer = h2_call(server.port, fetch, [(b"authorization", value)])
            assert answer[b"grpc-status"] == b"16", answer  # UNAUTHENTICATED
            assert b"grpc-status-details-bin" in answer
        # Another header carrying a credential and a bad byte.
        answer = h2_call(server.port, fetch, [(b"user-agent", good + b"\xff")])
        assert answer[b"grpc-status"] == b"16"
        log = server.stop()
    assert_clean_log(log)
    assert "metadata value is not UTF-8" in log  # the line survives, redacted
    assert '"code": "UNAUTHENTICATED"' in log


def test_log_records_from_any_logger_are_scrubbed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The record factory scrubs every logger's records, whatever handler reads them."""
    import logging

    secret_header = basic(ACCOUNT_SID, AUTH_TOKEN)
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("headers: %s", {"authorization": secret_header})
        logging.getLogger("other").warning("raw %s", AUTH_TOKEN)
        logging.getLogger("urls").error("posting to https://user:%s@example.com/cb", KEY_SECRET)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert_clean_log(text)
    assert "[redacted]" in text


async def test_non_ascii_basic_is_unauthenticated(harness: Harness) -> None:
    fetch = (SERVICE + "FetchParticipant").encode()
    for value in (b"Basic \xc3\xa9\xc3\xa9", b"Basic QUM\xe2\x82\xac", "Basic ü".encode("latin-1")):
        answer = await asyncio.to_thread(
            h2_call, harness.app.grpc_port, fetch, [(b"authorization", value)]
        )
        assert answer[b"grpc-status"] == b"16", answer
    # And over REST: 401 with Twilio's code, not 500.
    reader_writer = await _raw_http(
        harness,
        b"GET /2010-04-01/Accounts/" + ACCOUNT_SID.encode() + b"/Conferences/room"
        b"/Participants.json HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xc3\xa9\xc3\xa9\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert reader_writer.startswith(b"HTTP/1.1 401"), reader_writer[:200]
    assert b'"code": 20003' in reader_writer or b'"code":20003' in reader_writer


async def _raw_http(harness: Harness, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", harness.app.http_port)
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


async def _metric(harness: Harness, method: str, code: str) -> float:
    url = f"http://127.0.0.1:{harness.app.metrics_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    match = re.search(
        rf'rollcall_rpcs_total{{code="{code}",method="{re.escape(method)}"}} ([0-9.e+]+)', text
    )
    return float(match.group(1)) if match else 0.0


async def _wait_for(read: Callable[[], Awaitable[float]], expected: float) -> None:
    for _ in range(200):
        value = await read()
        if value == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{value} != {expected}")


async def test_undecodable_request_bytes_are_invalid_argument_and_counted(
    harness: Harness,
) -> None:
    for name in ("CreateParticipant", "FetchParticipant", "ListParticipants"):
        method = SERVICE + name
        before = await _metric(harness, method, "INVALID_ARGUMENT")
        raw = harness.channel.unary_unary(method)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(b"\xff\xff\xff\xff", metadata=harness.md())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        info = assert_typed(caught.value)
        assert info.reason == "MALFORMED_REQUEST"
        assert "class" not in (caught.value.details() or "")
        # The RPC is counted as it finishes, which may be just after the client hears.
        await _wait_for(functools.partial(_metric, harness, method, "INVALID_ARGUMENT"), before + 1)
    watch = harness.channel.unary_stream(SERVICE + "WatchConference")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch(b"\x0a\xff\xff\xff\x0f", metadata=harness.md()):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert assert_typed(caught.value).reason == "MALFORMED_REQUEST"


# -- page tokens ---------------------------------------------------------------


async def _page(
    harness: Harness, conference: str, md: object = None, **fields: object
) -> pb.ListParticipantsResponse:
    return await harness.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=harness.parent(conference), **fields),  # type: ignore[arg-type]
        metadata=md or harness.md(),
    )


async def test_page_tokens_are_opaque_and_reveal_no_other_tenant(harness: Harness) -> None:
    for to in ("+15551230010", "+15551230011", "+15551230012"):
        await create(harness, "mine", to=to)
    first = await _page(harness, "mine", page_size=1)
    again = await _page(harness, "mine", page_size=1)
    token = first.next_page_token
    assert token and token != again.next_page_token  # a fresh nonce every time
    raw = base64.urlsafe_b64decode(token[2:] + "=" * (-len(token[2:]) % 4))
    with pytest.raises(UnicodeDecodeError):
        raw.decode()
    # Another tenant creates many participants; our tokens do not change shape.
    other = harness.md(OTHER_SID, OTHER_TOKEN)
    for n in range(40):
        await harness.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=harness.parent("theirs", OTHER_SID),
                from_endpoint="+15005550006",
                to_endpoint=f"+1555124{n:04d}",
            ),
            metadata=other,
        )
    second = await _page(harness, "mine", page_size=1, page_token=token)
    assert len(second.next_page_token) == len(token)
    assert len(second.previous_page_token) == len(token)
    # The tokens still page correctly.
    third = await _page(harness, "mine", page_size=1, page_token=second.next_page_token)
    back = await _page(harness, "mine", page_size=1, page_token=third.previous_page_token)
    assert back.participants[0].call_sid == second.participants[0].call_sid
    assert {p.call_sid for p in (*first.participants, *second.participants, *third.participants)}
    assert not third.next_page_token
    # page_size may change from page to page.
    wider = await _page(harness, "mine", page_size=5, page_token=token)
    assert len(wider.participants) == 2


async def test_page_tokens_are_bound_to_account_conference_and_filter(harness: Harness) -> None:
    for to in ("+15551230010", "+15551230011"):
        await create(harness, "one", to=to)
        await create(harness, "two", to=to)
    token = (await _page(harness, "one", page_size=1)).next_page_token
    other = harness.md(OTHER_SID, OTHER_TOKEN)
    await harness.stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=harness.parent("one", OTHER_SID),
            from_endpoint="+15005550006",
            to_endpoint="+15551230019",
        ),
        metadata=other,
    )
    attempts = [
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent("two"), page_token=token),
            metadata=harness.md(),
        ),
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent("one"), page_token=token, muted=False),
            metadata=harness.md(),
        ),
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(
                parent=harness.parent("one"), page_token=token, include_ended=True
            ),
            metadata=harness.md(),
        ),
        # The other account, on its own conference of the same name.
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent("one", OTHER_SID), page_token=token),
            metadata=other,
        ),
    ]
    for attempt in attempts:
        error = await expect_error(attempt, grpc.StatusCode.INVALID_ARGUMENT)
        assert [v.field for v in error.violations] == ["page_token"]


@pytest.mark.parametrize(
    "token",
    [
        "PT" + base64.urlsafe_b64encode(b'{"d":"a","s":1e400}').decode(),
        "PT" + base64.urlsafe_b64encode(json.dumps({"d": "a", "s": 2**64}).encode()).decode(),
        "PT" + base64.urlsafe_b64encode(b"[" * 2000 + b"]" * 2000).decode(),
        "PT" + "A" * 48,
        "PT" + "A" * 5000,
        "PT\u00e9\u00e9",
        "PT====",
        "not a token",
    ],
)
async def test_crafted_page_tokens_are_invalid_argument(harness: Harness, token: str) -> None:
    await create(harness, "room")
    error = await expect_error(
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent("room"), page_token=token),
            metadata=harness.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert error.reason == "INVALID_ARGUMENT"
    assert [v.field for v in error.violations] == ["page_token"]
    # And over REST: Twilio's 400.
    url = (
        f"{harness.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"
    )
    async with (
        aiohttp.ClientSession(headers=_AUTH) as http,
        http.get(url, params={"PageToken": token}) as response,
    ):
        assert response.status == 400
        body = await response.json()
    assert body["status"] == 400 and body["code"]


async def test_page_tokens_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, http_listen="")
    async with serving(settings) as h:
        for to in ("+15551230010", "+15551230011"):
            conference = (await create(h, "room", to=to)).participant.conference_sid
        first = await _page(h, conference, page_size=1, include_ended=True)
    async with serving(settings) as h:
        second = await _page(
            h, conference, page_size=1, include_ended=True, page_token=first.next_page_token
        )
    assert second.participants[0].call_sid != first.participants[0].call_sid


# -- bounds ------------------------------------------------------------------


async def test_long_keys_and_etags_are_invalid_argument_not_stream_removed(
    harness: Harness,
) -> None:
    created = (await create(harness, "room")).participant
    # As stored: its dialing and ringing were committed with the Create.
    p = await fetch(harness, created.conference_sid, created.call_sid)
    huge = "k" * 9000
    for call in (
        harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=harness.name(p.conference_sid, huge)),
            metadata=harness.md(),
        ),
        harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=harness.name(huge[:300], "x")),
            metadata=harness.md(),
        ),
        harness.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=harness.name(p.conference_sid, p.call_sid), etag=huge),
            metadata=harness.md(),
        ),
        harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(
                name=harness.name(p.conference_sid, p.call_sid), etag=huge, muted=True
            ),
            metadata=harness.md(),
        ),
    ):
        error = await expect_error(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert len(error.message) < 300
    # The longest allowed key and etag: typed NOT_FOUND / ABORTED echoing a bounded value.
    missing = await expect_error(
        harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=harness.name(p.conference_sid, "k" * 128)),
            metadata=harness.md(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert len(missing.message) <= 100 + service_errors.ECHO_MAX
    stale = await expect_error(
        harness.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(
                name=harness.name(p.conference_sid, p.call_sid), etag='"' + "9" * 62 + '"'
            ),
            metadata=harness.md(),
        ),
        grpc.StatusCode.ABORTED,
    )
    assert stale.reason == "ETAG_MISMATCH"
    fetched = await harness.stub.FetchParticipant(
        pb.FetchParticipantRequest(name=harness.name(p.conference_sid, p.call_sid)),
        metadata=harness.md(),
    )
    assert fetched.participant.revision == p.revision and not fetched.participant.muted


def _over(field: str) -> str:
    limit = limits.STRING_MAX.get(field, (limits.DEFAULT_MAX, 0))[0]
    return "x" * (limit + 1)


def _string_fields(
    message: type[pb.CreateParticipantRequest] | type[pb.UpdateParticipantRequest],
) -> list[str]:
    return [
        f.name
        for f in message.DESCRIPTOR.fields
        if f.type == f.TYPE_STRING and f.name not in ("parent", "name")
    ]


def _set(message: Any, field: str, value: str) -> None:
    """A string field, or one value of a repeated one."""
    if message.DESCRIPTOR.fields_by_name[field].is_repeated:
        getattr(message, field).append(value)
    else:
        setattr(message, field, value)


async def test_every_create_and_update_string_has_a_maximum(harness: Harness) -> None:
    p = (await create(harness, "room")).participant
    for field in _string_fields(pb.CreateParticipantRequest):
        request = pb.CreateParticipantRequest(
            parent=harness.parent("room"), from_endpoint="+15005550006", to_endpoint="+15551230001"
        )
        _set(request, field, _over(field))
        error = await expect_error(
            harness.stub.CreateParticipant(request, metadata=harness.md()),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert [v.field for v in error.violations] == [field], field
        assert "must not exceed" in error.violations[0].description
    for field in _string_fields(pb.UpdateParticipantRequest):
        update = pb.UpdateParticipantRequest(name=harness.name(p.conference_sid, p.call_sid))
        _set(update, field, _over(field))
        error = await expect_error(
            harness.stub.UpdateParticipant(update, metadata=harness.md()),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert [v.field for v in error.violations] == [field], field
    listing = await _page(harness, "room", include_ended=True)
    assert [q.call_sid for q in listing.participants] == [p.call_sid]
    assert listing.revision == (await _page(harness, "room")).revision


async def test_string_maxima_over_rest_are_twilio_400(harness: Harness) -> None:
    url = (
        f"{harness.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"
    )
    cases = {
        "StatusCallback": ("https://example.com/" + "a" * limits.URL_MAX, 21205),
        "Label": ("l" * 129, 16024),
        "CallReason": ("r" * 256, 400),
        "CallToken": ("t" * 4097, 400),
    }
    async with aiohttp.ClientSession(headers=_AUTH) as http:
        for field, (value, code) in cases.items():
            form = {"From": "+15005550006", "To": "+15551230001", field: value}
            async with http.post(url, data=form) as response:
                body = await response.json()
                assert response.status == 400, (field, body)
                assert body["code"] == code, (field, body)
                assert len(body["message"]) < 200
