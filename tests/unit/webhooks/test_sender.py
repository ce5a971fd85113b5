"""Unit tests: one HTTP attempt's outcome, and what delivery writes to the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_service_pb2 as pb
from service.core.ports.store import WebhookCursor
from service.webhooks.params import Callback, Kind
from service.webhooks.sender import Outcome, prepare, send
from tests.conftest import Harness, started
from tests.e2e.helpers import create
from tests.ports import closed_port


@pytest.fixture
async def server() -> AsyncIterator[str]:
    release = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]))

    async def hang(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/status/{status}", answer)
    app.router.add_route("*", "/hang", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        release.set()
        await runner.cleanup()


async def attempt(url: str, method: str = "POST", seconds: float = 5.0) -> Outcome:
    callback = Callback(Kind.CALL, url, method, {}, "completed", "CA1")
    request = prepare(callback, {"CallStatus": "completed"}, "token", "secret")
    async with aiohttp.ClientSession() as session:
        return await send(session, request, seconds)


@pytest.mark.parametrize(
    ("path", "delivered", "result"),
    [
        ("/status/200", True, "ok"),
        ("/status/204", True, "ok"),
        ("/status/302", False, "http_error"),
        ("/status/404", False, "http_error"),
        ("/status/500", False, "http_error"),
    ],
)
async def test_only_2xx_is_delivered(server: str, path: str, delivered: bool, result: str) -> None:
    for method in ("POST", "GET"):
        outcome = await attempt(server + path, method)
        assert (outcome.delivered, outcome.result) == (delivered, result)


async def test_refused_and_timed_out_are_network_errors(server: str) -> None:
    refused = await attempt(f"http://127.0.0.1:{closed_port()}/cb")
    assert (refused.delivered, refused.result) == (False, "network_error")
    slow = await attempt(server + "/hang", seconds=0.2)
    assert (slow.delivered, slow.result, slow.detail) == (False, "network_error", "timeout")


async def count_saves(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[WebhookCursor]:
    saves: list[WebhookCursor] = []
    original = h.app.store.save_webhook_cursor

    async def counting(cursor: WebhookCursor, calls: dict[str, int], **kw: Any) -> None:
        saves.append(cursor)
        await original(cursor, calls, **kw)

    monkeypatch.setattr(h.app.store, "save_webhook_cursor", counting)
    return saves


async def test_conference_without_callbacks_saves_its_cursor_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(tmp_path) as h:
        saves = await count_saves(h, monkeypatch)
        p = (await create(h)).participant
        await h.advance(2)
        await h.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=h.name(p.conference_sid, p.call_sid), muted=True),
            metadata=h.md(),
        )
        await h.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=h.name(p.conference_sid, p.call_sid)),
            metadata=h.md(),
        )
        assert h.app.webhooks is not None
        await h.app.webhooks.wait_idle()
        conference = await h.app.store.conference(h.account_sid, p.conference_sid)
        assert conference is not None
        # queued, connecting, ringing, joined, muted, left, ended: one write at the end.
        assert [s.revision for s in saves] == [conference.revision] == [7]
        assert await h.app.store.webhook_backlog() == []


async def test_call_counters_are_dropped_when_the_conference_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(tmp_path, callback_max_attempts=2, callback_backoff_seconds=5.0) as h:
        saves = await count_saves(h, monkeypatch)
        # Nobody listens on this port: the callback fails twice and is given up.
        url = f"http://127.0.0.1:{closed_port()}/cb"
        p = (
            await create(h, status_callback=url, status_callback_event=[E.CALL_EVENT_RINGING])
        ).participant
        await h.advance(0)
        assert h.app.webhooks is not None
        await h.app.webhooks.wait_retrying()
        assert await h.app.store.webhook_backlog() == [(h.account_sid, p.conference_sid)]
        await h.advance(5)
        await h.app.webhooks.wait_idle()
        assert len(saves) == 1
        assert await h.app.store.call_sequences(p.conference_sid) == {p.call_sid: 1}
        await h.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=h.name(p.conference_sid, p.call_sid)),
            metadata=h.md(),
        )
        await h.app.webhooks.wait_idle()
        assert await h.app.store.call_sequences(p.conference_sid) == {}
        assert await h.app.store.webhook_backlog() == []
