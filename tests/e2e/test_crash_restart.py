"""SIGKILL during a burst of writes: every acknowledged change survives, and the
event log agrees with the participants after the restart."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.dbquery import rows as query
from tests.e2e.helpers import _assert_log_matches_rows
from tests.e2e.process import ServerProcess

pytestmark = pytest.mark.slow

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
WRITERS = 8
ACKS_BEFORE_KILL = 120


async def _burst(target: str, acked: dict[str, int], enough: asyncio.Event) -> None:
    """Creates and updates from several writers until the server dies."""
    channel = grpc.aio.insecure_channel(target)
    stub = pb_grpc.ParticipantServiceStub(channel)
    rng = random.Random(7)

    async def writer(n: int) -> None:
        mine: list[pb.CreateParticipantResponse] = []
        while True:
            try:
                if mine and rng.random() < 0.4:
                    p = rng.choice(mine).participant
                    response = await stub.UpdateParticipant(
                        pb.UpdateParticipantRequest(name=p.name, muted=rng.random() < 0.5),
                        metadata=MD,
                    )
                else:
                    response = await stub.CreateParticipant(
                        pb.CreateParticipantRequest(
                            parent=f"accounts/{ACCOUNT_SID}/conferences/room-{n % 3}",
                            from_endpoint="+15005550006",
                            to_endpoint=f"+1555000{n:04d}",
                            request_id=f"w{n}-{len(mine)}",
                        ),
                        metadata=MD,
                    )
                    mine.append(response)
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    return
                if exc.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                    continue  # the participant's call ended meanwhile
                raise
            p = response.participant
            acked[p.call_sid] = max(acked.get(p.call_sid, 0), p.revision)
            if sum(1 for _ in acked) >= ACKS_BEFORE_KILL:
                enough.set()

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    finally:
        await channel.close()


async def test_sigkill_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite3"
    server = ServerProcess(database, ROLLCALL_SIM_RING_SECONDS="0.01")
    acked: dict[str, int] = {}
    try:
        server.start()
        enough = asyncio.Event()
        burst = asyncio.create_task(_burst(server.target, acked, enough))
        await asyncio.wait_for(enough.wait(), timeout=120)
        await asyncio.to_thread(server.kill)
        await asyncio.wait_for(burst, timeout=60)
        assert len(acked) >= ACKS_BEFORE_KILL

        server.start()  # same database: migrations, then recovery of in-flight calls
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        try:
            stored = dict(query(database, "SELECT call_sid, conference_sid FROM participants"))
            for call_sid, revision in acked.items():
                assert call_sid in stored, f"acknowledged participant {call_sid} was lost"
                found = await stub.FetchParticipant(
                    pb.FetchParticipantRequest(
                        name=f"accounts/{ACCOUNT_SID}/conferences/{stored[call_sid]}/participants/{call_sid}",
                        include_ended=True,
                    ),
                    metadata=MD,
                )
                assert found.participant.revision >= revision
        finally:
            await channel.close()
        assert server.terminate() == 0
    finally:
        server.close()
    _assert_log_matches_rows(database)
