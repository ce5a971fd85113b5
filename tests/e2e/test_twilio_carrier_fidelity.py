"""Carrier fidelity end to end (issue 25): two Rollcall processes, B the carrier of A.

As in test_twilio_carrier_two_processes: B runs its simulated carrier and
serves Twilio's URIs, A runs --carrier twilio pointed at B. Two relays in the
test record what passes: A's requests to B, and B's callbacks to A (A's
public URL is the second relay, which can lose them). When B ends calls
itself (an endConferenceOnExit participant hangs up there), A sends B
nothing for them; when B's callbacks are lost and an update on A finds the
call gone at B, A refuses it NOT_FOUND and shows the participant ended at
once, not at its next restart.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.webhooks import documented
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.helpers import until_status
from tests.e2e.process import ServerProcess
from tests.e2e.twilio_processes import COMPLETE, CONNECTED, MD, Relay, fetch, name, relay_to
from tests.fakes.receiver import Receiver

pytestmark = pytest.mark.slow


@contextlib.asynccontextmanager
async def a_through_b(tmp_path: Path, **a_env: str) -> AsyncIterator[Pair]:
    """B (simulated carrier, Twilio's URIs) and A (--carrier twilio, pointed at
    B), each way through a recording relay; B's callbacks reach A through the
    second relay, which can lose them."""
    b = ServerProcess(
        tmp_path / "b.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0", ROLLCALL_SIM_RING_SECONDS="0.2"
    )
    a = ServerProcess(tmp_path / "a.sqlite3", ROLLCALL_HTTP_LISTEN="127.0.0.1:0")
    try:
        b.start()
        async with (
            relay_to(f"http://127.0.0.1:{b.http_port}", hold_first=False) as (to_b, via_b),
            relay_to("", hold_first=False) as (to_a, via_a),
        ):
            a.env.update(
                ROLLCALL_CARRIER="twilio",
                ROLLCALL_TWILIO_BASE_URL=via_b,
                ROLLCALL_TWILIO_ACCOUNTS=f"{ACCOUNT_SID}={ACCOUNT_SID}:{AUTH_TOKEN}",
                ROLLCALL_TWILIO_CALLS_PER_SECOND="0",
                ROLLCALL_PUBLIC_BASE_URL=via_a,
                **a_env,
            )
            a.start()
            to_a.carrier = f"http://127.0.0.1:{a.http_port}"
            async with (
                grpc.aio.insecure_channel(a.target) as a_channel,
                grpc.aio.insecure_channel(b.target) as b_channel,
            ):
                yield Pair(
                    pb_grpc.ParticipantServiceStub(a_channel),
                    pb_grpc.ParticipantServiceStub(b_channel),
                    to_b,
                    to_a,
                )
    finally:
        a.close()
        b.close()


@dataclasses.dataclass
class Pair:
    on_a: Any
    on_b: Any
    to_b: Relay  # A's requests to its carrier
    to_a: Relay  # the carrier's callbacks to A


async def test_a_leaves_to_b_what_b_does_itself_and_never_shows_a_gone_call(
    tmp_path: Path,
) -> None:
    async with a_through_b(tmp_path) as pair:
        await _end_on_exit_at_the_carrier(pair.on_a, pair.on_b, pair.to_b)
        await _a_call_gone_while_its_callbacks_were_lost(pair.on_a, pair.on_b, pair.to_a)


async def test_lost_callbacks_are_repaired_and_the_tenant_gets_every_step_in_order(
    tmp_path: Path,
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        quick = {
            "ROLLCALL_CARRIER_QUIET_CALL_SECONDS": "1",
            "ROLLCALL_RETENTION_INTERVAL_SECONDS": "0.5",
        }
        async with a_through_b(tmp_path, **quick) as pair:
            await _every_step_though_every_callback_was_lost(pair, receiver)
    finally:
        await receiver.stop()


async def _every_step_though_every_callback_was_lost(pair: Pair, receiver: Receiver) -> None:
    on_a, on_b = pair.on_a, pair.on_b
    pair.to_a.dropping = True  # A hears nothing from its carrier
    z = await _create(
        on_a,
        "quiet",
        "+15551230004",
        status_callback=receiver.url("/z"),
        status_callback_event=[
            E.CALL_EVENT_INITIATED,
            E.CALL_EVENT_RINGING,
            E.CALL_EVENT_ANSWERED,
            E.CALL_EVENT_COMPLETED,
        ],
    )
    conference = z.conference_sid
    # The lease holder's lookup finds it answered at B: A shows it connected.
    await until_status(on_a, name(conference), MD, [z.call_sid], CONNECTED)
    steps = await receiver.wait_delivered(3, "/z")
    assert [(h.params["CallStatus"], h.params.get("RollcallImplied")) for h in steps] == [
        ("initiated", "true"),
        ("ringing", "true"),
        ("in-progress", None),
    ]
    at_b = await fetch(on_b, f"rollcall-{conference}", z.call_sid)
    await on_b.DeleteParticipant(
        pb.DeleteParticipantRequest(name=name(at_b.conference_sid, z.call_sid)), metadata=MD
    )
    # Its end is found the same way, within the quiet time.
    await until_status(on_a, name(conference), MD, [z.call_sid], COMPLETE)
    hits = await receiver.wait_delivered(4, "/z")
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "1", "2", "3"]
    assert hits[3].params["CallStatus"] == "completed"
    for hit in hits:
        assert hit.signature_valid()
        assert documented.undocumented(hit.params) == [], hit.params
        assert documented.missing(hit.params) == [], hit.params
    assert len({h.headers["I-Twilio-Idempotency-Token"] for h in hits}) == 4


async def _create(on_a: Any, room: str, to: str, **fields: Any) -> Any:
    request = pb.CreateParticipantRequest(
        parent=name(room), from_endpoint="+15005550006", to_endpoint=to, **fields
    )
    return (await on_a.CreateParticipant(request, metadata=MD)).participant


async def _end_on_exit_at_the_carrier(on_a: Any, on_b: Any, to_b: Relay) -> None:
    x = await _create(on_a, "eoe", "+15551230001", end_conference_on_exit=True)
    conference = x.conference_sid
    y = await _create(on_a, conference, "+15551230002")
    await until_status(on_a, name(conference), MD, [x.call_sid, y.call_sid], CONNECTED)
    at_b = await fetch(on_b, f"rollcall-{conference}", x.call_sid)
    sent = len(to_b.requests)
    # x leaves at the carrier: B ends its conference and drops y itself.
    await on_b.DeleteParticipant(
        pb.DeleteParticipantRequest(name=name(at_b.conference_sid, x.call_sid)), metadata=MD
    )
    await until_status(on_a, name(conference), MD, [x.call_sid, y.call_sid], COMPLETE)
    assert (await fetch(on_b, at_b.conference_sid, y.call_sid)).status == COMPLETE
    assert to_b.requests[sent:] == [], "A sends B nothing for calls B ended itself"


async def _a_call_gone_while_its_callbacks_were_lost(on_a: Any, on_b: Any, to_a: Relay) -> None:
    z = await _create(on_a, "lost", "+15551230003")
    conference = z.conference_sid
    await until_status(on_a, name(conference), MD, [z.call_sid], CONNECTED)
    at_b = await fetch(on_b, f"rollcall-{conference}", z.call_sid)
    to_a.dropping = True  # B's callbacks from here on are lost
    await on_b.DeleteParticipant(
        pb.DeleteParticipantRequest(name=name(at_b.conference_sid, z.call_sid)), metadata=MD
    )
    assert (await fetch(on_b, at_b.conference_sid, z.call_sid)).status == COMPLETE
    assert (await fetch(on_a, conference, z.call_sid)).status == CONNECTED  # A never heard
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await on_a.UpdateParticipant(
            pb.UpdateParticipantRequest(name=name(conference, z.call_sid), muted=True),
            metadata=MD,
        )
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    ended = await fetch(on_a, conference, z.call_sid)
    assert ended.status == COMPLETE
    assert ended.leave_reason == ppb.PARTICIPANT_LEAVE_REASON_PARTICIPANT_HUNG_UP
    assert not ended.muted
