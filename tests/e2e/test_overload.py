"""Overload against a real server process: beyond the in-flight bound calls are
refused at once, typed and counted; grpc itself never answers a bare
CANCELLED; and after the burst the service is as healthy as before."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path

import aiohttp
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.e2e.storm import MD, await_progress, create_request, metric, reason
from tests.e2e.test_crash_restart import _assert_log_matches_rows

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

            await asyncio.gather(*(one(n) for n in range(300)))
            assert set(statuses) <= {201, 429}, statuses
            assert statuses[429] > 0 and statuses[201] > 0, statuses
            assert codes == {20429}
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
