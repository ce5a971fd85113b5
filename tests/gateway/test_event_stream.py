"""The gateway's event stream and watch tokens over the real service, through
both upstreams (in process, as `rollcall serve` runs it, and over gRPC, as
`rollcall gateway` runs it), on a manual clock: refusals, a token's stream
ending at its expiry, a compacted cursor starting over, the gRPC face of
watch tokens, and streams ended when the gateway shuts down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.grpc_upstream import GrpcUpstream
from service.gateway.server import Gateway, start_gateway
from service.gateway.upstream import LocalUpstream
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    Harness,
    basic,
    started,
)
from tests.e2e.account_watch import mute
from tests.e2e.helpers import callbacks_caught_up, create, expect_error
from tests.sse import EventStream

EVENTS = f"/rollcall/v1/accounts/{ACCOUNT_SID}/events"
TOKENS = f"/rollcall/v1/accounts/{ACCOUNT_SID}/watch-tokens"
AUTH = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}


def _gateway_upstream(kind: str, h: Harness) -> Any:
    assert h.app.api is not None and h.app.conference_api is not None
    if kind == "direct":
        return LocalUpstream(h.app.api, h.app.conference_api)
    return GrpcUpstream(h.channel)


class Env:
    def __init__(self, harness: Harness, gateway: Gateway, http: aiohttp.ClientSession) -> None:
        self.h = harness
        self.gateway = gateway
        self.http = http

    async def watch(self, headers: dict[str, str] | None = None, **params: str) -> EventStream:
        response = await self.http.get(EVENTS, headers=headers, params=params)
        assert response.status == 200, await response.text()
        return EventStream(response)

    async def mint(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        async with self.http.post(TOKENS, headers=headers or AUTH) as response:
            assert response.status == 201, await response.text()
            return dict(await response.json())


@contextlib.asynccontextmanager
async def _env(tmp_path: Path, kind: str, **settings: Any) -> AsyncIterator[Env]:
    async with started(tmp_path, **settings) as h:
        gateway = await start_gateway(_gateway_upstream(kind, h), "127.0.0.1:0")
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{gateway.port}",
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        ) as http:
            try:
                yield Env(h, gateway, http)
            finally:
                await gateway.close()


@pytest.fixture(params=["direct", "grpc"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    async with _env(tmp_path, request.param) as made:
        yield made


async def test_snapshot_then_events_through_either_upstream(env: Env) -> None:
    agent = (await create(env.h, "desk-1", label="agent")).participant
    stream = await env.watch(AUTH)
    try:
        await stream.until("snapshot")
        done = await stream.until("snapshot-complete")
        assert done.json == {"conferences": 1}
        revision = stream.snapshot[agent.conference_sid]["revision"]
        muted = await mute(env.h, agent.conference_sid, "agent")
        await stream.until_revision(agent.conference_sid, muted)
        assert stream.revisions[agent.conference_sid] == list(range(revision + 1, muted + 1))
        last = stream.changes()[-1]
        assert last["type"] == "participant-mute"
        assert last["participant"]["muted"] is True
        assert last["conference"]["friendly_name"] == "desk-1"
    finally:
        stream.close()


async def test_refusals_are_typed(env: Env) -> None:
    async with env.http.get(EVENTS, headers={"Authorization": basic(ACCOUNT_SID, "no")}) as r:
        assert r.status == 401
        assert (await r.json())["reason"] == "CREDENTIALS_INVALID"
    async with env.http.get(EVENTS, headers=AUTH, params={"type": "participant-dance"}) as r:
        assert r.status == 400
        body = await r.json()
        assert body["reason"] == "INVALID_ARGUMENT"
        assert r.headers["Content-Type"].startswith("application/json")
    # A cursor is opened once the stream has begun: its refusal is an event.
    stream = await env.watch(AUTH, lastEventId="AWnot-a-cursor")
    try:
        failed = await stream.until("stream-error")
        assert failed.json["reason"] == "CURSOR_INVALID"
        with pytest.raises(EOFError):
            await stream.next()
    finally:
        stream.close()


async def test_a_tokens_stream_ends_when_the_token_expires(env: Env) -> None:
    minted = await env.mint({"Authorization": basic(KEY_SID, KEY_SECRET)})
    ttl = minted["expires_in"]
    stream = await env.watch(access_token=minted["token"])
    try:
        await stream.until("snapshot-complete")
        # Past the expiry and one progress interval: the next marker is the
        # stream's first item after the expiry, and ends it.
        await env.h.advance(ttl + env.h.app.settings.watch_progress_seconds + 1)
        failed = await stream.until("stream-error")
        assert failed.json["reason"] == "WATCH_TOKEN_EXPIRED"
        assert failed.json["status"] == 401
        with pytest.raises(EOFError):
            await stream.next()
    finally:
        stream.close()
    async with env.http.get(EVENTS, params={"access_token": minted["token"]}) as again:
        assert again.status == 401
        assert (await again.json())["reason"] == "WATCH_TOKEN_EXPIRED"


async def test_a_compacted_cursor_starts_over_in_the_same_response(tmp_path: Path) -> None:
    async with _env(tmp_path, "direct", event_retention_count=2, event_retention_seconds=0) as env:
        one = (await create(env.h, "one", label="a")).participant
        first = await env.watch(AUTH)
        await first.until("snapshot-complete")
        cursor = first.last_id
        first.close()
        for i in range(5):
            await mute(env.h, one.conference_sid, "a", muted=i % 2 == 0)
        await env.h.advance(1)
        await callbacks_caught_up(env.h.app)
        assert await env.h.app.compact() > 0
        resumed = await env.watch({**AUTH, "Last-Event-ID": cursor})
        try:
            await resumed.until("snapshot")
            done = await resumed.until("snapshot-complete")
            assert done.json == {"conferences": 1}
            assert [
                b.event for b in resumed.blocks if b.retry is None and b.event != "progress"
            ] == [
                "snapshot",
                "conference",
                "snapshot-complete",
            ]
            assert resumed.snapshot[one.conference_sid]["participants"][0]["muted"] is True
        finally:
            resumed.close()


async def test_watch_tokens_over_grpc(tmp_path: Path) -> None:
    async with started(tmp_path) as h:
        minted = await h.stub.CreateWatchToken(
            pb.CreateWatchTokenRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=h.md()
        )
        assert minted.token.startswith("WT")
        assert minted.ttl_seconds == h.app.settings.watch_token_seconds
        assert minted.expire_time.seconds == int(h.clock.now() + minted.ttl_seconds)
        bearer = (("authorization", f"Bearer {minted.token}"),)
        call = h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=bearer
        )
        first = await call.read()
        assert first.WhichOneof("item") == "snapshot_complete"
        call.cancel()
        # Nothing else takes it: not the other RPCs, not another token.
        listing = h.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=h.parent("nowhere")), metadata=bearer
        )
        error = await expect_error(listing, grpc.StatusCode.UNAUTHENTICATED)
        assert error.reason == "CREDENTIALS_INVALID"
        again = h.stub.CreateWatchToken(
            pb.CreateWatchTokenRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=bearer
        )
        await expect_error(again, grpc.StatusCode.UNAUTHENTICATED)
        forged = h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}"),
            metadata=(("authorization", f"Bearer {minted.token[:-2]}"),),
        )
        error = await expect_error(forged.read(), grpc.StatusCode.UNAUTHENTICATED)
        assert error.reason == "WATCH_TOKEN_INVALID"
        # Only for the caller's own account.
        other = h.stub.CreateWatchToken(
            pb.CreateWatchTokenRequest(parent="accounts/AC" + "b" * 32), metadata=h.md()
        )
        await expect_error(other, grpc.StatusCode.NOT_FOUND)
        # It watches only its own account: another's floor is not found.
        elsewhere = h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=f"accounts/{OTHER_SID}"), metadata=bearer
        )
        await expect_error(elsewhere.read(), grpc.StatusCode.NOT_FOUND)
        # Expired: refused, typed, as on the HTTP face.
        await h.advance(minted.ttl_seconds)
        expired = h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=bearer
        )
        error = await expect_error(expired.read(), grpc.StatusCode.UNAUTHENTICATED)
        assert error.reason == "WATCH_TOKEN_EXPIRED"


async def test_a_gateway_shutting_down_ends_its_streams(tmp_path: Path) -> None:
    async with started(tmp_path) as h:
        gateway = await start_gateway(GrpcUpstream(h.channel), "127.0.0.1:0", shutdown_timeout=3600)
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
        ) as http:
            response = await http.get(f"http://127.0.0.1:{gateway.port}{EVENTS}", headers=AUTH)
            stream = EventStream(response)
            await stream.until("snapshot-complete")
            # Not an hour: the streams end at once, and the gateway closes.
            await asyncio.wait_for(gateway.close(), 20)
            with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
                await _drain(stream)
            stream.close()


async def _drain(stream: EventStream) -> None:
    while True:
        await stream.next()
