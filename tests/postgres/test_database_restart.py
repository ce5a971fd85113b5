"""PostgreSQL restarted under load, with two replicas on it.

While the database is down, requests answer the typed UNAVAILABLE
(STORE_UNAVAILABLE); no acknowledged write is lost; once it is back, writes
succeed again, the watch listener reconnects by itself, and a watcher on the
other replica, resuming from its last revision, sees every change in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.status import from_rpc_error
from service.store.postgres.feed import PgFeed
from tests import pg
from tests.conftest import Harness, make_settings, serving
from tests.e2e.helpers import create

WAIT = 30.0


async def _mute(h: Harness, conference: str, call_sid: str, muted: bool) -> int:
    r = await h.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(name=h.name(conference, call_sid), muted=muted),
        metadata=h.md(),
    )
    return int(r.participant.revision)


async def test_database_restart_under_load(tmp_path: Path) -> None:
    server = pg.server()
    dsn = pg.database_for(str(tmp_path))
    common = {
        "database": dsn,
        "http_listen": "",
        "replica_heartbeat_seconds": 0.2,
        "watch_poll_seconds": 3600.0,
        "database_statement_timeout_seconds": 2.0,
    }
    async with (
        serving(make_settings(tmp_path, replica_id="a", **common)) as a,
        serving(make_settings(tmp_path, replica_id="b", **common)) as b,
    ):
        first = (await create(a, "room")).participant
        conference = first.conference_sid
        acked: list[int] = []
        unavailable: list[str] = []
        seen: list[int] = []
        start: list[int] = []
        stop_watching = asyncio.Event()

        async def watch() -> None:
            """Follows on b, resuming from its cursor after every break."""
            while True:
                request = pb.WatchConferenceRequest(parent=b.parent(conference))
                if start:
                    request.resume_after_revision = seen[-1] if seen else start[0]
                call = b.stub.WatchConference(request, metadata=b.md())
                try:
                    async for item in call:
                        kind = item.WhichOneof("item")
                        if kind == "initial_state_complete":
                            start.append(item.initial_state_complete.revision)
                        elif kind == "event":
                            seen.append(item.event.revision)
                        if stop_watching.is_set() and seen and seen[-1] >= acked[-1]:
                            call.cancel()
                            return
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)

        watching = asyncio.create_task(watch())
        muted = False

        async def write() -> bool:
            nonlocal muted
            try:
                acked.append(await _mute(a, conference, first.call_sid, not muted))
                muted = not muted
                return True
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                unavailable.append(from_rpc_error(exc).reason)
                return False

        for _ in range(5):
            assert await write()
        await asyncio.to_thread(server.stop, "fast")
        try:
            for _ in range(3):
                assert not await write()
        finally:
            await asyncio.to_thread(server.start)
        assert set(unavailable) == {"STORE_UNAVAILABLE"}, unavailable

        async def until_written() -> None:
            while not await write():  # pooled connections died with the server
                pass

        await asyncio.wait_for(until_written(), WAIT)
        for _ in range(5):
            assert await write()
        assert isinstance(b.app.feed, PgFeed)
        listener = b.app.feed.listener
        await asyncio.wait_for(listener.connected.wait(), WAIT)
        assert listener.reconnects >= 1
        stop_watching.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watching), WAIT)
        assert watching.done(), f"watcher stuck at {seen[-1:]}, writes reached {acked[-1]}"
        assert seen == list(range(start[0] + 1, acked[-1] + 1)), "lost, repeated or reordered"
        # Every acknowledged write is there.
        page = await a.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=a.parent(conference)), metadata=a.md()
        )
        assert page.revision >= acked[-1]
