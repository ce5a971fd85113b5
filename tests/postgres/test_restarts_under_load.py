"""PostgreSQL restarted three times under writers and watchers, two replicas.

Two real `rollcall serve` processes share one database. Writers mute and
unmute participants and create new ones on both replicas; watchers follow
each conference on both replicas and resume from their last revision after
every break. The database is stopped (fast, immediate: a crash, fast) and
started again three times while they run.

What must hold: no call ever ends INTERNAL or UNKNOWN (every failure is
UNAVAILABLE with a reason); nothing acknowledged is lost (each acknowledged
change is the event at its revision, each acknowledged Create is there at the
end); every watcher sees every revision from its snapshot to the end, in
order, once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import grpc

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.gateway.status import from_rpc_error
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.poll import eventually

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
CONFERENCES = ("alpha", "beta")
PER_CONFERENCE = 3
RESTARTS = ("fast", "immediate", "fast")
# Acknowledged writes between restarts, so each restart hits a running load.
WRITES_BETWEEN = 30
WAIT = 60.0


def parent(conference: str) -> str:
    return f"accounts/{ACCOUNT_SID}/conferences/{conference}"


@dataclasses.dataclass
class Outcomes:
    """What every call the test made answered, and what was acknowledged."""

    failures: collections.Counter[tuple[str, str]] = dataclasses.field(
        default_factory=collections.Counter
    )
    # (conference SID, revision) -> (call SID, muted) of each acknowledged Update.
    updates: dict[tuple[str, int], tuple[str, bool]] = dataclasses.field(default_factory=dict)
    created: list[ppb.Participant] = dataclasses.field(default_factory=list)

    def failed(self, error: grpc.aio.AioRpcError) -> None:
        code = error.code()
        reason = ""
        if code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            reason = from_rpc_error(error).reason
        self.failures[(code.name, reason)] += 1

    @property
    def acknowledged(self) -> int:
        return len(self.updates) + len(self.created)


@dataclasses.dataclass
class Watcher:
    conference_sid: str
    start: int | None = None
    revisions: list[int] = dataclasses.field(default_factory=list)
    events: dict[int, ppb.Participant] = dataclasses.field(default_factory=dict)
    resumes: int = 0


@contextlib.contextmanager
def replicas(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    dsn = pg.database_for(str(tmp_path))
    servers = [
        ServerProcess(
            tmp_path / "unused.sqlite3",
            ROLLCALL_DATABASE=dsn,
            ROLLCALL_REPLICA_ID=name,
            ROLLCALL_REPLICA_HEARTBEAT_SECONDS="0.2",
            ROLLCALL_WATCH_POLL_SECONDS="1",
            ROLLCALL_DATABASE_STATEMENT_TIMEOUT_SECONDS="5",
            ROLLCALL_SIM_RING_SECONDS="0",
            ROLLCALL_WATCH_PROGRESS_SECONDS="0.2",
        )
        for name in ("a", "b")
    ]
    for server, name in zip(servers, ("a", "b"), strict=True):
        server.log = tmp_path / f"{name}.log"
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.close()


async def test_postgres_restarted_three_times_under_writers_and_watchers(tmp_path: Path) -> None:
    database = pg.server()
    outcomes = Outcomes()
    up = asyncio.Event()
    up.set()
    restarted = [0]  # restarts done: each one makes every watcher resume
    done = asyncio.Event()
    with replicas(tmp_path) as servers:
        channels = [grpc.aio.insecure_channel(s.target) for s in servers]
        stubs = [pb_grpc.ParticipantServiceStub(c) for c in channels]
        try:
            members: dict[str, list[ppb.Participant]] = {}
            for conference in CONFERENCES:
                for n in range(PER_CONFERENCE):
                    made = await stubs[n % 2].CreateParticipant(
                        pb.CreateParticipantRequest(
                            parent=parent(conference),
                            from_endpoint="+15005550006",
                            to_endpoint=f"+1555123000{n}",
                            label=f"m{n}",
                        ),
                        metadata=MD,
                    )
                    members.setdefault(made.participant.conference_sid, []).append(made.participant)

            async def update(stub: pb_grpc.ParticipantServiceStub, p: ppb.Participant) -> None:
                muted = False
                while not done.is_set():
                    muted = not muted
                    name = f"{parent(p.conference_sid)}/participants/{p.call_sid}"
                    try:
                        r = await stub.UpdateParticipant(
                            pb.UpdateParticipantRequest(name=name, muted=muted),
                            metadata=MD,
                            timeout=WAIT,
                        )
                    except grpc.aio.AioRpcError as error:
                        outcomes.failed(error)
                        await up.wait()
                        continue
                    key = (p.conference_sid, r.participant.revision)
                    outcomes.updates[key] = (r.participant.call_sid, r.participant.muted)

            async def create(stub: pb_grpc.ParticipantServiceStub, replica: str) -> None:
                n = 0
                while not done.is_set():
                    n += 1
                    try:
                        r = await stub.CreateParticipant(
                            pb.CreateParticipantRequest(
                                parent=parent(f"new-{replica}-{n}"),
                                from_endpoint="+15005550006",
                                to_endpoint="+15551239999",
                            ),
                            metadata=MD,
                            timeout=WAIT,
                        )
                    except grpc.aio.AioRpcError as error:
                        outcomes.failed(error)
                        await up.wait()
                        continue
                    outcomes.created.append(r.participant)

            async def watch(replica: int, w: Watcher) -> None:
                """Follows from the snapshot on; after every restart (and every
                break) resumes from its last revision, on the other replica."""
                while True:
                    request = pb.WatchConferenceRequest(parent=parent(w.conference_sid))
                    if w.start is not None:
                        request.resume_after_revision = w.revisions[-1] if w.revisions else w.start
                        w.resumes += 1
                    epoch = restarted[0]
                    call = stubs[replica].WatchConference(request, metadata=MD)
                    try:
                        async for item in call:
                            kind = item.WhichOneof("item")
                            if kind == "initial_state_complete" and w.start is None:
                                w.start = item.initial_state_complete.revision
                            elif kind == "event":
                                w.revisions.append(item.event.revision)
                                w.events[item.event.revision] = item.event.participant
                            if restarted[0] != epoch:
                                break
                    except grpc.aio.AioRpcError as error:
                        outcomes.failed(error)
                        await up.wait()
                    finally:
                        call.cancel()
                    replica = 1 - replica

            async def updated_everywhere_since(before: set[tuple[str, int]]) -> None:
                """Every watched conference took an update after a restart, so
                each of its watchers sees an event of the new epoch and resumes
                (creates alone, in conferences of their own, could otherwise
                make up the writes that follow a restart)."""
                await eventually(
                    lambda: all(
                        any(key[0] == sid and key not in before for key in outcomes.updates)
                        for sid in members
                    ),
                    "every watched conference is updated again after the restart",
                    WAIT,
                )

            watchers = [(i, Watcher(sid)) for sid in members for i in range(len(stubs))]
            tasks = [asyncio.create_task(watch(i, w)) for i, w in watchers]
            await eventually(
                lambda: all(w.start is not None for _, w in watchers), "every watcher started"
            )
            writers = [
                asyncio.create_task(update(stubs[i % 2], p))
                for i, p in enumerate(p for ps in members.values() for p in ps)
            ]
            writers += [
                asyncio.create_task(create(stub, name))
                for stub, name in zip(stubs, ("a", "b"), strict=True)
            ]
            try:
                for mode in RESTARTS:
                    target = outcomes.acknowledged + WRITES_BETWEEN
                    await eventually(
                        lambda t=target: outcomes.acknowledged >= t,  # type: ignore[misc]
                        "writes go through",
                        WAIT,
                    )
                    up.clear()
                    failed = sum(outcomes.failures.values())
                    await asyncio.to_thread(database.stop, mode)
                    try:
                        await eventually(
                            # a default binds the loop value
                            lambda f=failed: sum(outcomes.failures.values()) > f,  # type: ignore[misc]
                            "a call fails while the database is down",
                            WAIT,
                        )
                    finally:
                        await asyncio.to_thread(database.start)
                        up.set()
                    restarted[0] += 1
                    await updated_everywhere_since(set(outcomes.updates))
                target = outcomes.acknowledged + WRITES_BETWEEN
                await eventually(
                    lambda: outcomes.acknowledged >= target, "writes go through again", WAIT
                )
            finally:
                done.set()
                await asyncio.gather(*writers, return_exceptions=True)

            # Where each conference ended, read once the writers have stopped.
            final: dict[str, int] = {}
            for sid in members:
                page = await stubs[0].ListParticipants(
                    pb.ListParticipantsRequest(parent=parent(sid)), metadata=MD, timeout=WAIT
                )
                final[sid] = page.revision
            try:
                await eventually(
                    lambda: all(
                        w.revisions and w.revisions[-1] >= final[w.conference_sid]
                        for _, w in watchers
                    ),
                    "every watcher reaches the last revision",
                    WAIT,
                )
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            bad = {k: n for k, n in outcomes.failures.items() if k[0] != "UNAVAILABLE" or not k[1]}
            assert not bad, f"failures other than UNAVAILABLE with a reason: {bad}"
            for _, w in watchers:
                assert w.start is not None
                expected = list(range(w.start + 1, final[w.conference_sid] + 1))
                assert w.revisions == expected, "lost, repeated or reordered events"
                assert w.resumes >= len(RESTARTS)
            for (sid, revision), (call_sid, muted) in outcomes.updates.items():
                for _, w in watchers:
                    if w.conference_sid == sid and w.start is not None and revision > w.start:
                        event = w.events[revision]
                        assert (event.call_sid, event.muted) == (call_sid, muted), revision
            for p in outcomes.created:
                name = f"{parent(p.conference_sid)}/participants/{p.call_sid}"
                got = await stubs[1].FetchParticipant(
                    pb.FetchParticipantRequest(name=name), metadata=MD, timeout=WAIT
                )
                assert got.participant.call_sid == p.call_sid
            assert outcomes.updates and outcomes.created
        finally:
            for channel in channels:
                await channel.close()
