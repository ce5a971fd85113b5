"""Overload against a real server process: beyond the in-flight bound, or once
calls have waited longer than the wait bound, calls are refused at once, typed
(RESOURCE_EXHAUSTED OVERLOADED with RetryInfo; REST 429 with Retry-After) and
counted; grpc itself never answers a bare CANCELLED; health checks are always
answered; and after the burst the service is as healthy as before."""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.dbquery import rows as query
from tests.e2e.helpers import _assert_log_matches_rows
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, await_progress, create_request, metric, reason

pytestmark = pytest.mark.slow

LIMIT = 16
CALLERS = 1500


async def test_a_burst_beyond_the_limit_is_refused_typed_and_leaves_no_damage(
    tmp_path: Path,
) -> None:
    database = tmp_path / "overload.sqlite3"
    server = ServerProcess(
        database,
        ROLLCALL_MAX_IN_FLIGHT=str(LIMIT),
        ROLLCALL_SIM_RING_SECONDS="0.05",
    )
    try:
        server.start()
        metrics_port = server.metrics_port
        channel = grpc.aio.insecure_channel(server.target)
        stub = pb_grpc.ParticipantServiceStub(channel)
        try:
            await channel.channel_ready()
            codes: collections.Counter[str] = collections.Counter()
            created: list[str] = []

            async def one(n: int) -> None:
                request = create_request(f"burst-{n % 20}", f"burst-{n}", n)
                try:
                    response = await stub.CreateParticipant(request, metadata=MD, timeout=60)
                    created.append(response.participant.name)
                    codes["OK"] += 1
                except grpc.aio.AioRpcError as exc:
                    codes[f"{exc.code().name}/{reason(exc)}"] += 1

            await asyncio.gather(*(one(n) for n in range(CALLERS)))
            # Only two outcomes: done, or refused at once with a typed reason.
            assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED/OVERLOADED"}, codes
            refused = codes["RESOURCE_EXHAUSTED/OVERLOADED"]
            assert refused > 0, codes
            assert codes["OK"] > 0, codes
            counted = await metric(
                metrics_port, "rollcall_calls_refused_total", 'reason="OVERLOADED"'
            )
            assert counted == refused

            # As healthy as before: writes work and everything created progresses.
            after = await stub.CreateParticipant(
                create_request("after", "after", 1), metadata=MD, timeout=30
            )
            await stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=after.participant.name, muted=True),
                metadata=MD,
                timeout=30,
            )
            await await_progress(stub, [*created, after.participant.name])
            assert await metric(metrics_port, "rollcall_calls_in_flight") == 0
        finally:
            await channel.close()
        assert server.terminate() == 0
    finally:
        server.close()
    _assert_log_matches_rows(database)


async def test_the_rest_gateway_shares_the_limit(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "rest.sqlite3",
        ROLLCALL_MAX_IN_FLIGHT="4",
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
    )
    try:
        server.start()
        metrics_port = server.metrics_port
        url = (
            f"http://127.0.0.1:{server.http_port}/2010-04-01/Accounts/{ACCOUNT_SID}"
            "/Conferences/{room}/Participants.json"
        )
        statuses: collections.Counter[int] = collections.Counter()
        codes: set[object] = set()
        retry_after: set[str | None] = set()
        async with aiohttp.ClientSession(
            headers={"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)},
            connector=aiohttp.TCPConnector(limit=0),
        ) as session:

            async def one(n: int) -> None:
                form = {"From": "+15005550006", "To": f"+1555{n:07d}"}
                async with session.post(url.format(room=f"rest-{n % 10}"), data=form) as r:
                    statuses[r.status] += 1
                    if r.status == 429:
                        codes.add((await r.json())["code"])
                        retry_after.add(r.headers.get("Retry-After"))

            await asyncio.gather(*(one(n) for n in range(300)))
            assert set(statuses) <= {201, 429}, statuses
            assert statuses[429] > 0 and statuses[201] > 0, statuses
            assert codes == {20429}
            assert retry_after == {"1"}
            counted = await metric(
                metrics_port, "rollcall_calls_refused_total", 'reason="OVERLOADED"'
            )
            assert counted == statuses[429]
            # Afterwards the gateway serves as before.
            async with session.post(
                url.format(room="after"), data={"From": "+15005550006", "To": "+15551234567"}
            ) as r:
                assert r.status == 201
        assert server.terminate() == 0
    finally:
        server.close()


BOUND = 0.5  # ROLLCALL_MAX_WAIT_SECONDS, its default
BURST = 2000
BURST_PROCESSES = 4
OVERLOADED = "RESOURCE_EXHAUSTED/OVERLOADED"


async def test_a_burst_of_2000_callers_waits_no_longer_than_the_bound_and_health_answers(
    tmp_path: Path,
) -> None:
    """2,000 concurrent Creates without deadlines, from 4 client processes.
    No in-flight limit: only the wait bound may refuse. Those let in are
    answered within the bound plus their handling (the server's own figure,
    from its log); the rest are refused before any work, typed, with
    RetryInfo; health checks from an idle client are answered throughout; a
    call right after is served. (Before: every call was served, the last
    ones after seconds in grpc's queue.)"""
    database = tmp_path / "burst.sqlite3"
    server = ServerProcess(
        database,
        ROLLCALL_MAX_IN_FLIGHT="0",
        ROLLCALL_MAX_WAIT_SECONDS=str(BOUND),
        ROLLCALL_SIM_RING_SECONDS="0.05",
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        channel = grpc.aio.insecure_channel(server.target)
        health = health_pb2_grpc.HealthStub(channel)
        stub = pb_grpc.ParticipantServiceStub(channel)
        per = BURST // BURST_PROCESSES
        bursts = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.e2e.burst",
                server.target,
                str(per),
                str(i * per),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for i in range(BURST_PROCESSES)
        ]
        try:
            for process in bursts:
                assert process.stdout is not None
                assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
            checks: list[tuple[int, float]] = []

            async def check_health_until(done: asyncio.Future[Any]) -> None:
                while not done.done():
                    began = time.monotonic()
                    answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=30)
                    checks.append((answer.status, time.monotonic() - began))
                    await asyncio.wait({done}, timeout=0.05)  # the probe's pace

            for process in bursts:
                assert process.stdin is not None
                process.stdin.write(b"go\n")
            answers = asyncio.gather(*(p.communicate() for p in bursts))
            await asyncio.gather(check_health_until(answers), answers)
            outcomes = [tuple(row) for out, _ in answers.result() for row in json.loads(out)]
        finally:
            for process in bursts:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

        codes = collections.Counter(outcome for outcome, _, _ in outcomes)
        assert sum(codes.values()) == BURST, codes
        assert set(codes) <= {"OK", OVERLOADED}, codes
        assert codes["OK"] > 0 and codes[OVERLOADED] > 0, codes
        # Each refusal says when to retry, and is counted.
        assert {delay for outcome, _, delay in outcomes if outcome != "OK"} == {1.0}
        counted = await metric(server.metrics_port, "rollcall_calls_refused_total", "OVERLOADED")
        assert counted == codes[OVERLOADED]
        # Refused before any work: only the calls let in left a participant.
        (created,) = query(database, "SELECT COUNT(*) FROM participants")
        assert created[0] == codes["OK"]
        # Let in: within the bound plus a handling time, with a margin for
        # this busy machine's client processes.
        handled = _create_seconds(server.log)
        admitted = sorted(latency for outcome, latency, _ in outcomes if outcome == "OK")
        handling = _p99(handled["OK"])
        assert _p99(admitted) <= BOUND + handling + 1.5, (_p99(admitted), handling)
        # Refused at once: in less than the bound, by the server's own count.
        assert _p99(handled["RESOURCE_EXHAUSTED"]) < BOUND
        # Health answered throughout (the issue says within 1 s; the margin
        # is for this machine, not for the server).
        assert len(checks) >= 5, checks
        assert all(status == health_pb2.HealthCheckResponse.SERVING for status, _ in checks)
        assert max(seconds for _, seconds in checks) < 3.0, checks

        # Recovered at once: the next calls are served.
        for n in range(20):
            await stub.CreateParticipant(
                create_request("after", f"after-{n}", n), metadata=MD, timeout=30
            )
        await channel.close()
        assert server.terminate() == 0
    finally:
        server.close()
    _assert_log_matches_rows(database)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _create_seconds(log: Path) -> dict[str, list[float]]:
    """Each CreateParticipant's time in its handler, by status code, from the log."""
    found: dict[str, list[float]] = collections.defaultdict(list)
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("msg") == "rpc" and record["method"].endswith("/CreateParticipant"):
                found[record["code"]].append(record["ms"] / 1000)
    return found
