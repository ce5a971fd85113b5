"""Soak, bounded in time: waves of writers with random short deadlines and
random client cancellations (and an in-flight bound small enough to shed),
then every write still works, every committed participant progresses past
queued, and the event log matches the rows."""

from __future__ import annotations

import asyncio
import collections
import random
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.e2e.helpers import _assert_log_matches_rows
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, await_none_queued, create_request, storm

pytestmark = pytest.mark.slow

SOAK_SECONDS = 20.0
CONFERENCES = [f"soak-{i}" for i in range(40)]
ALLOWED = {
    "OK",
    "DEADLINE_EXCEEDED",
    "CANCELLED_BY_CLIENT",
    "RESOURCE_EXHAUSTED",  # shed (OVERLOADED) or a conference full
}


async def test_soak_with_deadlines_and_cancellations(tmp_path: Path) -> None:
    database = tmp_path / "soak.sqlite3"
    server = ServerProcess(database, ROLLCALL_SIM_RING_SECONDS="0.05", ROLLCALL_MAX_IN_FLIGHT="64")
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        try:
            seeds = []
            for i, conference in enumerate(CONFERENCES):
                seed = await stub.CreateParticipant(
                    create_request(conference, f"seed-{i}", i), metadata=MD, timeout=30
                )
                seeds.append(seed.participant.name)
            rng = random.Random(11)
            seen: collections.Counter[str] = collections.Counter()
            sent: list[pb.CreateParticipantRequest] = []
            loop = asyncio.get_running_loop()
            ends = loop.time() + SOAK_SECONDS
            wave = 0
            while loop.time() < ends:
                codes, creates = await storm(
                    stub,
                    rng,
                    callers=150,
                    conferences=CONFERENCES,
                    updatable=seeds,
                    tag=f"soak{wave}",
                    max_deadline=0.3,
                    cancel_share=0.3,
                )
                seen.update(codes)
                sent.extend(creates)
                wave += 1
            assert set(seen) <= ALLOWED, seen
            assert seen["DEADLINE_EXCEEDED"] and seen["CANCELLED_BY_CLIENT"], seen

            # Every write still works, and retries find (or make) their participant.
            # (In conferences of their own: the storm may have filled the others.)
            for i, conference in enumerate(CONFERENCES):
                await stub.CreateParticipant(
                    create_request(f"{conference}-after", f"after-{i}", 90000 + i),
                    metadata=MD,
                    timeout=30,
                )
            for name in seeds:
                await stub.UpdateParticipant(
                    pb.UpdateParticipantRequest(name=name, hold=True), metadata=MD, timeout=30
                )
            for request in rng.sample(sent, min(200, len(sent))):
                try:
                    await stub.CreateParticipant(request, metadata=MD, timeout=30)
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc  # full
            total = await await_none_queued(stub, CONFERENCES)
            assert total > len(CONFERENCES) * 2
        finally:
            await channel.close()
        assert server.terminate() == 0
    finally:
        server.close()
    _assert_log_matches_rows(database)
