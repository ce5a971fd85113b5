"""WatchConference bugs: a live stream behind the retained log re-snapshots
(OUT_OF_RANGE / REVISION_COMPACTED, as a resume does), and an internal failure
is logged and counted as INTERNAL, not UNKNOWN; a stream opens through the
same authentication, rate limit and tenancy path as every RPC."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import Code, RollcallError
from service.rpc import watch_feed
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, started
from tests.e2e.helpers import callbacks_caught_up, create, expect_error


async def _mute(h: Harness, conference: str, key: str, muted: bool) -> None:
    await h.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(name=h.name(conference, key), muted=muted), metadata=h.md()
    )


async def test_live_stream_behind_the_retained_log_is_told_to_resnapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-event cache stands for a stream further behind than the real cache:
    # its next read goes to the store, which compaction has thinned meanwhile.
    monkeypatch.setattr(watch_feed, "_CACHE", 1)
    async with started(tmp_path, event_retention_count=2, event_retention_seconds=0) as h:
        a = (await create(h, "room")).participant
        assert h.app.api is not None
        stream = h.app.api.watch_conference(
            pb.WatchConferenceRequest(parent=h.parent(a.conference_sid)),
            basic(ACCOUNT_SID, AUTH_TOKEN),
        )
        assert isinstance(stream, AsyncGenerator)
        async for item in stream:
            assert isinstance(item, pb.WatchConferenceResponse)
            if item.WhichOneof("item") == "initial_state_complete":
                break
        # The stream is paused between two items (a slow reader) while the
        # conference moves on and old events are compacted away.
        for i in range(5):
            await _mute(h, a.conference_sid, a.call_sid, muted=i % 2 == 0)
        await h.advance(1)
        await callbacks_caught_up(h.app)
        assert await h.app.compact() > 0
        with pytest.raises(RollcallError) as caught:
            await anext(stream)
        await stream.aclose()
        assert caught.value.code is Code.OUT_OF_RANGE
        assert caught.value.reason == "REVISION_COMPACTED"
        oldest = int(caught.value.metadata["oldest_revision"])
        assert oldest > a.revision + 1


async def test_internal_failure_of_watch_is_logged_as_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with started(tmp_path) as h:
        a = (await create(h, "room")).participant

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("storage exploded")

        # A fault inside the stream that is not a RollcallError.
        assert h.app.watch is not None
        monkeypatch.setattr(h.app.watch.store, "list_participants", broken)
        with caplog.at_level(logging.INFO, logger="rollcall.rpc"):
            call = h.stub.WatchConference(
                pb.WatchConferenceRequest(parent=h.parent(a.conference_sid)), metadata=h.md()
            )

            async def drain() -> None:
                async for _ in call:
                    pass

            error = await expect_error(drain(), grpc.StatusCode.INTERNAL)
            assert "storage exploded" not in error.message
            await h.app.stop(grace=0.5)
        lines = [
            r
            for r in caplog.records
            if r.getMessage() == "rpc"
            and str(getattr(r, "method", "")).endswith("/WatchConference")
        ]
        assert [getattr(r, "code", None) for r in lines] == ["INTERNAL"]
        assert [getattr(r, "reason", None) for r in lines] == ["INTERNAL"]


async def test_watch_goes_through_the_same_rate_limit_as_every_rpc(tmp_path: Path) -> None:
    async with started(tmp_path, requests_per_second=1.0, request_burst=1) as h:
        a = (await create(h, "room")).participant  # the one token
        call = h.stub.WatchConference(
            pb.WatchConferenceRequest(parent=h.parent(a.conference_sid)), metadata=h.md()
        )

        async def drain() -> None:
            async for _ in call:
                pass

        # Bounded: without the limit the stream would stay open.
        error = await asyncio.wait_for(
            expect_error(drain(), grpc.StatusCode.RESOURCE_EXHAUSTED), timeout=10
        )
        call.cancel()
        assert error.reason == "RATE_LIMITED"
