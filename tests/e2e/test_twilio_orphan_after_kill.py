"""A Rollcall killed between placing a call and recording it ends that call at restart.

Two real `rollcall serve` processes, as in test_twilio_carrier_two_processes:
B (simulated carrier, Twilio's URIs) is the carrier of A (--carrier twilio).
Between them, a relay in the test passes A's requests on to B, and holds
back B's answer to A's first Create: once B has placed the call (its 201 is
in the relay's hands) A is killed with SIGKILL, so A never records it. The
Create had no request_id, so no client retry would ever find the call.
Restarted on the same database, A looks the call up at B by its label
before serving and ends it: the call on B is over, A has no participant for
it, and A logs it once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.process import ServerProcess
from tests.e2e.twilio_processes import COMPLETE, create_then_kill, fetch, relay_to

pytestmark = pytest.mark.slow


async def test_a_call_placed_by_a_killed_rollcall_is_ended_at_restart(tmp_path: Path) -> None:
    b = ServerProcess(
        tmp_path / "b.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0", ROLLCALL_SIM_RING_SECONDS="0.2"
    )
    a = ServerProcess(tmp_path / "a.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0")
    a.log = tmp_path / "a.log"
    try:
        b.start()
        async with relay_to(f"http://127.0.0.1:{b.http_port}") as (relay, via):
            a.env.update(
                ROLLCALL_CARRIER="twilio",
                ROLLCALL_TWILIO_BASE_URL=via,
                ROLLCALL_TWILIO_ACCOUNTS=f"{ACCOUNT_SID}={ACCOUNT_SID}:{AUTH_TOKEN}",
                ROLLCALL_TWILIO_CALLS_PER_SECOND="0",
            )
            a.start()
            call_sid, carrier_conference = await create_then_kill(a, relay)
            async with grpc.aio.insecure_channel(b.target) as b_channel:
                on_b = pb_grpc.ParticipantServiceStub(b_channel)
                assert (await fetch(on_b, carrier_conference, call_sid)).status != COMPLETE
                # It serves only once its placements are resolved; the relay
                # runs on this loop, so the start waits in a thread.
                await asyncio.to_thread(a.start)
                assert (await fetch(on_b, carrier_conference, call_sid)).status == COMPLETE
        assert a.log.read_text().count("ended a call placed but never recorded") == 1
    finally:
        a.close()
        b.close()
