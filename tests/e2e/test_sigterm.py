"""SIGTERM under load, against a real server process: health goes NOT_SERVING
while calls are still served (the drain window), then new calls are refused
UNAVAILABLE with a reason, calls in flight end OK or UNAVAILABLE (never
CANCELLED), and no change is left half-done.

A call grpc had received but not yet handed to the service when the port
closed ends CANCELLED at the client without ever reaching a handler (grpc's
own queue; likelier when the loop is busy, as on PostgreSQL): the server's
log tells those apart, since every call a handler ran is logged with its
code."""

from __future__ import annotations

import asyncio
import collections
import json
import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.e2e.dbquery import rows as query
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, create_request, reason
from tests.e2e.test_crash_restart import _assert_log_matches_rows

pytestmark = pytest.mark.slow

WRITERS = 48
SERVICE = "rollcall.v1.ParticipantService"


async def test_sigterm_drains_then_refuses_typed_and_never_cancels(tmp_path: Path) -> None:
    database = tmp_path / "sigterm.sqlite3"
    # No grace at all: whatever is in flight when the gate closes must end
    # UNAVAILABLE with a reason, not CANCELLED.
    server = ServerProcess(
        database,
        ROLLCALL_DRAIN_SECONDS="3",
        ROLLCALL_GRACE_SECONDS="0",
        ROLLCALL_SIM_RING_SECONDS="0.05",
    )
    server.log = tmp_path / "server.log"
    acked: list[str] = []
    codes: collections.Counter[str] = collections.Counter()
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        stopped = asyncio.Event()
        loaded = asyncio.Event()  # 100 Creates acknowledged: the load is running

        async def writer(n: int) -> None:
            i = 0
            while True:
                i += 1
                request = create_request(f"sig-{n}", f"sig-{n}-{i}", n * 1000 + i)
                try:
                    response = await stub.CreateParticipant(request, metadata=MD, timeout=30)
                    acked.append(response.participant.call_sid)
                    codes["OK"] += 1
                    if len(acked) >= 100:
                        loaded.set()
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.UNAVAILABLE and (
                        stopped.is_set() or reason(exc) == "SHUTTING_DOWN"
                    ):
                        # The gate closed (the drain window may end before the
                        # probe below returns on a slow store) or the port
                        # did: nothing more to learn from this writer, and a
                        # retry in flight when the port closes is CANCELLED.
                        codes[f"UNAVAILABLE/{reason(exc)}"] += 1
                        return
                    codes[f"{exc.code().name}/{reason(exc)}"] += 1
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        return

        try:
            stream = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
            assert (await stream.read()).status == health_pb2.HealthCheckResponse.SERVING
            writers = [asyncio.create_task(writer(n)) for n in range(WRITERS)]
            await asyncio.wait_for(loaded.wait(), timeout=60)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            update = await asyncio.wait_for(stream.read(), timeout=10)
            assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
            # Within the drain window calls are still served.
            during = await stub.CreateParticipant(
                create_request("drain", "drain", 1), metadata=MD, timeout=10
            )
            assert during.participant.call_sid
            stopped.set()
            stream.cancel()
            await asyncio.wait_for(asyncio.gather(*writers), timeout=60)
        finally:
            await channel.close()
        assert await asyncio.to_thread(server.proc.wait, 30) == 0

        # Every call a handler ran ended OK or UNAVAILABLE with its reason...
        handled = _handled_creates(server.log)
        assert set(handled) <= {"OK", "UNAVAILABLE/SHUTTING_DOWN"}, handled
        # ...and so did every answer the client got, but for calls grpc never
        # handed to the service (CANCELLED at the port's close: no more of
        # those than calls, the probe included, that no handler ran).
        unavailable = {code for code in codes if code.startswith("UNAVAILABLE/")}
        assert set(codes) - unavailable <= {"OK", "CANCELLED/INTERNAL"}, codes
        never_handled = sum(codes.values()) + 1 - sum(handled.values())
        assert codes["CANCELLED/INTERNAL"] <= never_handled, (handled, codes)
        assert "UNAVAILABLE/SHUTTING_DOWN" in codes, codes
        for call_sid in acked:
            found = query(database, "SELECT 1 FROM participants WHERE call_sid = ?", call_sid)
            assert found, f"acknowledged {call_sid} was lost"
    finally:
        server.close()
    _assert_log_matches_rows(database)


def _handled_creates(log: Path) -> collections.Counter[str]:
    """How each CreateParticipant a handler ran ended, from the server's log."""
    found: collections.Counter[str] = collections.Counter()
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("msg") == "rpc" and record.get("method", "").endswith("/CreateParticipant"):
            code, why = record["code"], record["reason"]
            found[f"{code}/{why}" if why else code] += 1
    return found
