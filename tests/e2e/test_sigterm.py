"""SIGTERM under load, against a real server process, counting every outcome.

Health goes NOT_SERVING while calls are still served (the drain window); then
new calls are refused UNAVAILABLE with a reason, calls in flight end OK or
UNAVAILABLE, and no change is left half-done. Callers behave like clients
with a retry policy: each sends its next call as soon as it has an answer and
retries UNAVAILABLE (SHUTTING_DOWN) at once, until the transport itself
refuses (the port is closed). Every call ends OK or UNAVAILABLE, none
CANCELLED, including those grpc had accepted but not yet handed over when the
stop began; and every answer a caller got from the server is in the server's
log with the same outcome."""

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
from tests.e2e.helpers import _assert_log_matches_rows
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, create_request, reason

pytestmark = pytest.mark.slow

SERVICE = "rollcall.v1.ParticipantService"
# The wait bound (ROLLCALL_MAX_WAIT_SECONDS, tests/e2e/test_overload.py) would
# refuse some calls OVERLOADED under this load before the signal; these tests
# are about the stop, so it is off.
NO_WAIT_BOUND = "0"
OK = "OK"
SHUTTING_DOWN = "UNAVAILABLE/SHUTTING_DOWN"


class Callers:
    """`n` closed-loop callers creating participants until the port closes."""

    def __init__(self, stub: pb_grpc.ParticipantServiceStub, n: int) -> None:
        self.stub = stub
        self.n = n
        self.codes: collections.Counter[str] = collections.Counter()
        self.acked: list[str] = []
        self._loaded = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._caller(n)) for n in range(self.n)]

    async def loaded(self, acks: int) -> None:
        """Until `acks` Creates have been acknowledged (every caller busy)."""
        self._want = acks
        await asyncio.wait_for(self._loaded.wait(), timeout=60)

    async def ended(self) -> None:
        await asyncio.wait_for(asyncio.gather(*self._tasks), timeout=60)

    async def _caller(self, n: int) -> None:
        i = 0
        while True:
            i += 1
            request = create_request(f"sig-{n % 16}", f"sig-{n}-{i}", n * 100_000 + i)
            try:
                response = await self.stub.CreateParticipant(request, metadata=MD, timeout=30)
            except grpc.aio.AioRpcError as exc:
                outcome = f"{exc.code().name}/{reason(exc)}"
                self.codes[outcome] += 1
                if outcome == SHUTTING_DOWN:
                    continue  # a retrying client: try again at once
                return  # refused by the transport (port closed), or a failure
            self.acked.append(response.participant.call_sid)
            self.codes[OK] += 1
            if len(self.acked) >= getattr(self, "_want", 1 << 62):
                self._loaded.set()


def _assert_every_call_ended_ok_or_unavailable(
    callers: Callers, log: Path, *, extra_ok: int = 0
) -> None:
    codes = callers.codes
    refused_by_transport = {c for c in codes if c.startswith("UNAVAILABLE/") and c != SHUTTING_DOWN}
    assert set(codes) - refused_by_transport <= {OK, SHUTTING_DOWN}, codes
    assert not any(code.startswith("CANCELLED") for code in codes), codes
    # Each caller stopped at its first refusal by the transport, and nowhere else.
    assert sum(codes[c] for c in refused_by_transport) == callers.n, codes
    assert codes[SHUTTING_DOWN] > 0, codes
    # Every answer a caller got is the server's own, logged with that outcome;
    # no call reached a handler and went unanswered or was answered otherwise.
    handled = _handled_creates(log)
    assert handled == {OK: codes[OK] + extra_ok, SHUTTING_DOWN: codes[SHUTTING_DOWN]}, (
        handled,
        codes,
    )


async def test_sigterm_drains_then_refuses_typed_and_never_cancels(tmp_path: Path) -> None:
    database = tmp_path / "sigterm.sqlite3"
    # No grace at all: whatever is in flight when the gate closes must end
    # UNAVAILABLE with a reason, not CANCELLED.
    server = ServerProcess(
        database,
        ROLLCALL_DRAIN_SECONDS="3",
        ROLLCALL_GRACE_SECONDS="0",
        ROLLCALL_SIM_RING_SECONDS="0.05",
        ROLLCALL_MAX_WAIT_SECONDS=NO_WAIT_BOUND,
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        callers = Callers(stub, 48)
        try:
            stream = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
            assert (await stream.read()).status == health_pb2.HealthCheckResponse.SERVING
            callers.start()
            await callers.loaded(100)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            update = await asyncio.wait_for(stream.read(), timeout=10)
            assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
            # Within the drain window calls are still served.
            during = await stub.CreateParticipant(
                create_request("drain", "drain", 1), metadata=MD, timeout=10
            )
            assert during.participant.call_sid
            # The health stream outlives the drain; the stop ends it typed too.
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(stream.read(), timeout=30)
            assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
            await callers.ended()
        finally:
            await channel.close()
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        _assert_every_call_ended_ok_or_unavailable(callers, server.log, extra_ok=1)
        for call_sid in callers.acked:
            found = query(database, "SELECT 1 FROM participants WHERE call_sid = ?", call_sid)
            assert found, f"acknowledged {call_sid} was lost"
    finally:
        server.close()
    _assert_log_matches_rows(database)


@pytest.mark.parametrize("grace", [1, 8])
@pytest.mark.parametrize("n", [32, 128, 256])
async def test_every_call_around_sigterm_ends_ok_or_unavailable(
    tmp_path: Path, n: int, grace: int
) -> None:
    database = tmp_path / "around.sqlite3"
    server = ServerProcess(
        database,
        ROLLCALL_GRACE_SECONDS=str(grace),
        ROLLCALL_SIM_RING_SECONDS="0.05",
        ROLLCALL_MAX_WAIT_SECONDS=NO_WAIT_BOUND,
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        callers = Callers(pb_grpc.ParticipantServiceStub(channel), n)
        try:
            callers.start()
            # Every caller has had answers: the server holds about n calls
            # (in grpc's queue or in flight) when the signal comes.
            await callers.loaded(2 * n)
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            await callers.ended()
        finally:
            await channel.close()
        assert await asyncio.to_thread(server.proc.wait, 30) == 0
        _assert_every_call_ended_ok_or_unavailable(callers, server.log)
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
