"""Three `rollcall serve` processes on one PostgreSQL database, one SIGKILLed
mid-stream.

Writes go to all three; a watcher follows the conference on each replica and,
when its replica dies, resumes on a survivor from its last revision. Checks:
every watcher saw every revision exactly once and in order; every
acknowledged write is stored; the dead replica's ringing calls are resolved
by a survivor (failed, as after a restart); the status callbacks it owed are
delivered by another replica, each call's in SequenceNumber order.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
import grpc
import pytest

from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_pb2 as P
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.fakes.receiver import Receiver
from tests.poll import eventually

pytestmark = pytest.mark.slow

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
ANCHOR = "+15551110000"  # answered at once: keeps the conference going
WAIT = 30.0
PARENT = f"accounts/{ACCOUNT_SID}/conferences/"
WRITES_BEFORE_KILL = 30
WRITES_AFTER_KILL = 30


class Replica:
    def __init__(self, name: str, dsn: str, tmp_path: Path) -> None:
        self.name = name
        self.process = ServerProcess(
            tmp_path / name,
            ROLLCALL_DATABASE=dsn,
            ROLLCALL_REPLICA_ID=name,
            ROLLCALL_REPLICA_HEARTBEAT_SECONDS="0.2",
            ROLLCALL_REPLICA_TIMEOUT_SECONDS="1.5",
            ROLLCALL_WATCH_POLL_SECONDS="1",
            ROLLCALL_SIM_RING_SECONDS="3600",
            ROLLCALL_SIM_OUTCOMES=f"{ANCHOR}=answer:0.01",
        )
        self.alive = False
        self.channel: grpc.aio.Channel | None = None
        self.stub: pb_grpc.ParticipantServiceStub | None = None

    async def start(self) -> None:
        await asyncio.to_thread(self.process.start)
        self.alive = True
        self.channel = grpc.aio.insecure_channel(self.process.target)
        self.stub = pb_grpc.ParticipantServiceStub(self.channel)


class Watcher:
    def __init__(self, replicas: list[Replica], first: int, conference_sid: str) -> None:
        self.replicas = replicas
        self.at = first
        self.conference_sid = conference_sid
        self.start: int | None = None
        self.revisions: list[int] = []
        self.resumed = 0

    @property
    def cursor(self) -> int:
        assert self.start is not None
        return self.revisions[-1] if self.revisions else self.start

    async def run(self, until: asyncio.Event, final: list[int]) -> None:
        while not (until.is_set() and self.start is not None and self.cursor >= final[0]):
            replica = self.replicas[self.at]
            if not replica.alive:
                self.at = (self.at + 1) % len(self.replicas)
                continue
            request = pb.WatchConferenceRequest(parent=PARENT + self.conference_sid)
            if self.start is not None:
                request.resume_after_revision = self.cursor
                self.resumed += 1
            assert replica.stub is not None
            call = replica.stub.WatchConference(request, metadata=MD)
            try:
                async for item in call:
                    kind = item.WhichOneof("item")
                    if kind == "initial_state_complete":
                        self.start = item.initial_state_complete.revision
                    elif kind == "event":
                        self.revisions.append(item.event.revision)
                    if until.is_set() and self.start is not None and self.cursor >= final[0]:
                        call.cancel()
                        return
            except grpc.aio.AioRpcError as exc:
                assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), exc
                self.at = (self.at + 1) % len(self.replicas)


async def test_three_replicas_one_killed_mid_stream(tmp_path: Path) -> None:
    dsn = pg.database_for(str(tmp_path))
    replicas = [Replica(name, dsn, tmp_path) for name in ("r1", "r2", "r3")]
    receiver = Receiver()
    await receiver.start()
    try:
        for replica in replicas:  # r1 starts first: it leads callback delivery
            await replica.start()
        await _run(replicas, receiver, dsn)
    finally:
        for replica in replicas:
            if replica.channel is not None:
                await replica.channel.close()
            await asyncio.to_thread(replica.process.close)
        await receiver.stop()


async def _create(replica: Replica, conference: str, to: str, callback: str) -> P.Participant:
    assert replica.stub is not None
    request = pb.CreateParticipantRequest(
        parent=PARENT + conference,
        from_endpoint="+15005550006",
        to_endpoint=to,
        status_callback=callback,
        status_callback_event=[
            E.CALL_EVENT_INITIATED,
            E.CALL_EVENT_RINGING,
            E.CALL_EVENT_ANSWERED,
            E.CALL_EVENT_COMPLETED,
        ],
    )
    return (await replica.stub.CreateParticipant(request, metadata=MD)).participant


async def _run(replicas: list[Replica], receiver: Receiver, dsn: str) -> None:
    r1, r2, r3 = replicas
    anchor = await _create(r3, "room", ANCHOR, receiver.url("/anchor"))
    conference = anchor.conference_sid
    until = asyncio.Event()
    final = [0]
    watchers = [Watcher(replicas, i, conference) for i in range(3)]
    watching = [asyncio.create_task(w.run(until, final)) for w in watchers]
    acked: dict[str, int] = {}
    owned_by_r1: list[str] = []
    made = [0]

    async def write(n: int) -> None:
        for replica in replicas[n % 3 :] + replicas[: n % 3]:
            if not replica.alive:
                continue
            with contextlib.suppress(grpc.aio.AioRpcError):
                p = await _create(replica, conference, f"+1555222{n:04d}", receiver.url("/call"))
                acked[p.call_sid] = p.revision
                if replica is r1:
                    owned_by_r1.append(p.call_sid)
                made[0] += 1
                return

    for n in range(WRITES_BEFORE_KILL):
        await write(n)
    r1.alive = False
    await asyncio.to_thread(r1.process.kill)  # mid-stream: watchers on r1 are cut off
    for n in range(WRITES_BEFORE_KILL, WRITES_BEFORE_KILL + WRITES_AFTER_KILL):
        await write(n)
    assert owned_by_r1, "r1 dialed some calls before it died"

    # r1's ringing calls are failed by a survivor within the replica timeout.
    stub = r2.stub
    assert stub is not None

    async def resolved() -> bool:
        # Also calls r1 dialed whose Create it could not acknowledge before dying.
        conn = await asyncpg.connect(dsn)
        try:
            left = await conn.fetchval(
                "SELECT count(*) FROM participants WHERE active AND owner = 'r1'"
            )
        finally:
            await conn.close()
        page = await stub.ListParticipants(
            pb.ListParticipantsRequest(
                parent=PARENT + conference, include_ended=True, page_size=1000
            ),
            metadata=MD,
        )
        status = {p.call_sid: p.status for p in page.participants}
        return left == 0 and all(status[sid] == P.PARTICIPANT_STATUS_FAILED for sid in owned_by_r1)

    await eventually(resolved, "the dead replica's calls resolved", WAIT)
    page = await stub.ListParticipants(
        pb.ListParticipantsRequest(parent=PARENT + conference, include_ended=True, page_size=1000),
        metadata=MD,
    )
    stored = {p.call_sid: p.revision for p in page.participants}
    for call_sid, revision in acked.items():
        assert stored.get(call_sid, -1) >= revision, f"acknowledged {call_sid} lost"
    final[0] = page.revision
    until.set()
    await asyncio.wait_for(asyncio.gather(*watching), WAIT)
    for w in watchers:
        assert w.start is not None
        assert w.revisions == list(range(w.start + 1, final[0] + 1)), "lost, repeated or reordered"
    assert watchers[0].resumed >= 1, "the watcher on r1 resumed on a survivor"

    # Callbacks: every r1 call's final callback arrives (from r2 or r3), and
    # each call's callbacks, first deliveries only, in SequenceNumber order.
    def finals_delivered() -> bool:
        done = {
            h.params["CallSid"]
            for h in receiver.delivered("/call")
            if h.params.get("CallStatus") in ("failed", "completed", "busy", "no-answer")
        }
        return all(sid in done for sid in owned_by_r1)

    await receiver.wait(finals_delivered)
    first_seen: dict[str, list[int]] = {}
    tokens: set[str] = set()
    for hit in receiver.delivered("/call"):
        token = hit.headers.get("I-Twilio-Idempotency-Token", "")
        if token in tokens:
            continue  # a retry after the lease moved: at least once
        tokens.add(token)
        first_seen.setdefault(hit.params["CallSid"], []).append(int(hit.params["SequenceNumber"]))
    for call_sid, sequence in first_seen.items():
        assert sequence == sorted(sequence), (call_sid, sequence)
