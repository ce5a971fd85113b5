"""A replica killed between placing a call and recording it, and never restarted.

Replicas A and C (`rollcall serve --carrier twilio` on one PostgreSQL) dial
through Rollcall B (simulated carrier, Twilio's URIs) via the test's relay,
which holds back B's answer to A's first Create (see
test_twilio_orphan_after_kill). A is SIGKILLed once B has placed the call
and does not come back. C holds the callback lease, and once the placement
is older than the placing bound (twice the carrier timeout) its heartbeat
round finds the call at B by its label and ends it, logging it once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.process import ServerProcess
from tests.e2e.twilio_processes import COMPLETE, create_then_kill, fetch, relay_to
from tests.poll import eventually

pytestmark = pytest.mark.slow

ENDED = "ended a call placed but never recorded"


async def test_the_lease_holder_ends_a_dead_replica_s_unrecorded_call(tmp_path: Path) -> None:
    dsn = pg.database_for(str(tmp_path))
    b = ServerProcess(
        tmp_path / "b.sqlite3",
        ROLLCALL_DATABASE=str(tmp_path / "b.sqlite3"),
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
        ROLLCALL_SIM_RING_SECONDS="0.2",
    )
    replicas: dict[str, ServerProcess] = {}
    try:
        b.start()
        async with relay_to(f"http://127.0.0.1:{b.http_port}") as (relay, via):
            for replica in ("c", "a"):  # C first: it takes the callback lease
                process = ServerProcess(
                    tmp_path / replica,
                    ROLLCALL_DATABASE=dsn,
                    ROLLCALL_REPLICA_ID=replica,
                    ROLLCALL_REPLICA_HEARTBEAT_SECONDS="0.2",
                    ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
                    ROLLCALL_CARRIER="twilio",
                    ROLLCALL_TWILIO_BASE_URL=via,
                    ROLLCALL_TWILIO_ACCOUNTS=f"{ACCOUNT_SID}={ACCOUNT_SID}:{AUTH_TOKEN}",
                    ROLLCALL_TWILIO_CALLS_PER_SECOND="0",
                    ROLLCALL_TWILIO_TIMEOUT_SECONDS="1",
                )
                process.log = tmp_path / f"{replica}.log"
                replicas[replica] = process
                await asyncio.to_thread(process.start)
            a = replicas["a"]
            call_sid, conference = await create_then_kill(a, relay)  # A never comes back
            async with grpc.aio.insecure_channel(b.target) as b_channel:
                on_b = pb_grpc.ParticipantServiceStub(b_channel)

                async def ended() -> bool:
                    return bool((await fetch(on_b, conference, call_sid)).status == COMPLETE)

                await eventually(ended, "the lease holder ended the dead replica's call")
        log = replicas["c"].log
        assert log is not None and log.read_text().count(ENDED) == 1
    finally:
        for process in replicas.values():
            process.close()
        b.close()
