"""Client deadlines against a real server process: callers that give up never
wedge the write path, and a change that committed is carried out in full."""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.e2e.helpers import _assert_log_matches_rows
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, await_progress, create_request, storm

pytestmark = pytest.mark.slow

CONFERENCES = [f"storm-{i}" for i in range(10)]


async def test_deadline_storm_leaves_every_write_working(tmp_path: Path) -> None:
    database = tmp_path / "storm.sqlite3"
    server = ServerProcess(database, ROLLCALL_SIM_RING_SECONDS="0.05")
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        try:
            seeds = [
                (
                    await stub.CreateParticipant(create_request(c, f"seed-{c}", i), metadata=MD)
                ).participant.name
                for i, c in enumerate(CONFERENCES)
            ]
            rng = random.Random(8)
            sent: list[pb.CreateParticipantRequest] = []
            seen: dict[str, int] = {}
            for wave in range(5):
                codes, creates = await storm(
                    stub,
                    rng,
                    callers=300,
                    conferences=CONFERENCES,
                    updatable=seeds,
                    tag=f"w{wave}",
                )
                sent.extend(creates)
                for code, count in codes.items():
                    seen[code] = seen.get(code, 0) + count
            # The storm did cut callers short, and nobody was told INTERNAL.
            assert seen.get("DEADLINE_EXCEEDED", 0) > 0, seen
            assert "INTERNAL" not in seen and "UNKNOWN" not in seen, seen

            # Every write still works.
            for i, conference in enumerate(CONFERENCES):
                after = await stub.CreateParticipant(
                    create_request(conference, f"after-{i}", 9000 + i), metadata=MD, timeout=30
                )
                assert after.participant.call_sid
            for name in seeds:
                await stub.UpdateParticipant(
                    pb.UpdateParticipantRequest(name=name, hold=True), metadata=MD, timeout=30
                )

            # A retry returns the first participant (or creates it now), and
            # none is left queued: what was committed was also dialed.
            names = []
            for request in sent:
                again = await stub.CreateParticipant(request, metadata=MD, timeout=30)
                names.append(again.participant.name)
            await await_progress(stub, names)
        finally:
            await channel.close()
        assert server.terminate() == 0
    finally:
        server.close()
    _assert_log_matches_rows(database)
