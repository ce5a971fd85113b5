"""Account-wide watchers for the robustness test: replicas that die and come
back, and watchers (gRPC WatchAccount and Server-Sent Events) that are cut at
random and resume from their last cursor, each folding what it receives.

What it owns: the two `rollcall serve` processes (Cluster), one watcher's fold
and its checks (Watcher), the two ways of reading (grpc_watcher, sse_watcher),
and the account's state as the Lists show it (listed_floor).

Rule 1: a watcher checks every event as it arrives: in each conference the
        revisions follow its snapshot (or start at 1) with no gap, duplicate
        or reorder, nothing follows a conference-end, and nothing belongs to
        another account. What breaks a rule is recorded, never raised inside
        the watcher, and asserted by the test.
Rule 2: a watcher's state is the live conferences and their active
        participants, each as (status, muted, hold, coaching, label): the
        gRPC watchers fold with the client's FloorState, the SSE watchers
        fold the JSON as a page would.
Rule 3: a cut is the watcher's own choice (after a random number of items
        that carry a cursor) or a replica's death; either way it resumes
        with its last cursor (Last-Event-ID for SSE) on a replica chosen at
        random among those up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from clients.floor import FloorState, account_item
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.gateway.render import STATUS_WORDS
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.sse import EventStream

READ_WAIT = 20.0
MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
_ENDED = pb.ConferenceEventType.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED
# A participant as the floor shows it.
Row = tuple[str, bool, bool, bool, str]
# conference SID -> call SID -> Row
Floor = dict[str, dict[str, Row]]


def _row(p: ppb.Participant) -> Row:
    return (STATUS_WORDS[p.status], p.muted, p.hold, p.coaching, p.label)


def _json_row(p: dict[str, Any]) -> Row:
    return (p["status"], p["muted"], p["hold"], p["coaching"], p["label"] or "")


class Cluster:
    """Two replicas of one PostgreSQL database; either may be killed and started again."""

    def __init__(self, tmp_path: Path) -> None:
        dsn = pg.database_for(str(tmp_path))
        self.servers = [
            ServerProcess(
                tmp_path / "unused.sqlite3",
                ROLLCALL_DATABASE=dsn,
                ROLLCALL_REPLICA_ID=name,
                ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
                ROLLCALL_REPLICA_HEARTBEAT_SECONDS="0.2",
                ROLLCALL_WATCH_POLL_SECONDS="1",
                ROLLCALL_WATCH_PROGRESS_SECONDS="0.25",
                ROLLCALL_SIM_RING_SECONDS="0",
            )
            for name in ("a", "b")
        ]
        for server, name in zip(self.servers, ("a", "b"), strict=True):
            server.log = tmp_path / f"{name}.log"
        self.up = [False, False]
        # Each start of a replica is a new incarnation (a new port, too).
        self.incarnation = [0, 0]
        self.channels: list[grpc.aio.Channel | None] = [None, None]
        self.retired: list[grpc.aio.Channel] = []

    def live(self) -> list[int]:
        return [i for i, up in enumerate(self.up) if up]

    def stub(self, replica: int) -> pb_grpc.ParticipantServiceStub:
        channel = self.channels[replica]
        assert channel is not None, f"replica {replica} is down"
        return pb_grpc.ParticipantServiceStub(channel)

    def conference_stub(self, replica: int) -> cpb_grpc.ConferenceServiceStub:
        channel = self.channels[replica]
        assert channel is not None, f"replica {replica} is down"
        return cpb_grpc.ConferenceServiceStub(channel)

    async def start(self, replica: int) -> None:
        server = self.servers[replica]
        await asyncio.to_thread(server.start)
        self.channels[replica] = grpc.aio.insecure_channel(server.target)
        self.incarnation[replica] += 1
        self.up[replica] = True

    async def kill(self, replica: int) -> None:
        """SIGKILL: whatever was in flight on it is cut (and fails UNAVAILABLE:
        its channel is closed only at the end, as closing a channel cancels
        its calls, which would raise CancelledError in the callers)."""
        self.up[replica] = False
        await asyncio.to_thread(self.servers[replica].kill)
        channel, self.channels[replica] = self.channels[replica], None
        if channel is not None:
            self.retired.append(channel)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Cluster]:
        try:
            await asyncio.gather(self.start(0), self.start(1))
            yield self
        finally:
            for channel in [*self.retired, *self.channels]:
                if channel is not None:
                    await channel.close()
            for server in self.servers:
                server.close()


@dataclasses.dataclass
class Watcher:
    """One watcher's fold, its checks (Rule 1) and what happened to it."""

    number: int
    kind: str  # "grpc" or "sse"
    rng: random.Random
    cursor: str = ""
    floor: FloorState = dataclasses.field(default_factory=FloorState)
    sse_floor: Floor = dataclasses.field(default_factory=dict)
    # conference SID -> the last revision received (snapshot or event).
    last: dict[str, int] = dataclasses.field(default_factory=dict)
    ended: set[str] = dataclasses.field(default_factory=set)
    violations: list[str] = dataclasses.field(default_factory=list)
    errors: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    # (replica, incarnation) -> streams opened there with a cursor.
    resumes: collections.Counter[tuple[int, int]] = dataclasses.field(
        default_factory=collections.Counter
    )
    events: int = 0
    # Streams that began with a snapshot (more than one only when the first
    # was cut before it completed).
    snapshots: int = 0
    ready: bool = False

    def state(self) -> Floor:
        if self.kind == "sse":
            return {sid: dict(people) for sid, people in self.sse_floor.items()}
        return {
            sid: {call_sid: _row(p) for call_sid, p in people.items()}
            for sid, people in self.floor.participants.items()
        }

    def snapshot_of(self, account_sid: str, sid: str, revision: int) -> None:
        if account_sid != ACCOUNT_SID:
            self.violations.append(f"snapshot of {sid} of account {account_sid}")
        self.last[sid] = revision

    def event_of(self, account_sid: str, sid: str, revision: int, ended: bool) -> None:
        self.events += 1
        if account_sid != ACCOUNT_SID:
            self.violations.append(f"event of {sid} r{revision} of account {account_sid}")
        if sid in self.ended:
            self.violations.append(f"{sid} r{revision} after its conference-end")
        expected = self.last.get(sid, 0) + 1
        if revision != expected:
            self.violations.append(f"{sid}: r{revision} where r{expected} was due")
        self.last[sid] = revision
        if ended:
            self.ended.add(sid)

    def start_over(self) -> None:
        """A new snapshot follows: a stream opened without a cursor (never a
        resume: nothing is compacted in this test)."""
        if self.cursor:
            self.violations.append("a resume started over from a snapshot")
        self.snapshots += 1
        self.last.clear()
        self.ended.clear()
        self.floor.clear()
        self.sse_floor.clear()


async def grpc_watcher(cluster: Cluster, w: Watcher, metadata: Any, settle: asyncio.Event) -> None:
    """Reads WatchAccount, cutting and resuming at random (Rule 3), until cancelled."""
    while True:
        _cancelled()
        replica = w.rng.choice(cluster.live())
        incarnation = cluster.incarnation[replica]
        budget = None if settle.is_set() else w.rng.randint(2, 40)
        if w.cursor:
            w.resumes[(replica, incarnation)] += 1
        else:
            w.start_over()
        try:
            call = cluster.stub(replica).WatchAccount(
                pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}", cursor=w.cursor),
                metadata=metadata,
            )
        except AssertionError:  # went down since it was chosen
            continue
        try:
            while budget is None or budget > 0:
                _cancelled()
                async with asyncio.timeout(READ_WAIT):
                    response = await call.read()
                if response is grpc.aio.EOF:
                    w.errors["EOF"] += 1
                    break
                _fold_grpc(w, response)
                if budget is not None and response.cursor:
                    budget -= 1
        except grpc.aio.AioRpcError as error:
            _cancelled()
            w.errors[error.code().name] += 1
        finally:
            call.cancel()


def _cancelled() -> None:
    """A watcher stops when cancelled, whatever error the cancellation surfaced
    as, and also when asyncio.wait_for (Python 3.11) swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _fold_grpc(w: Watcher, response: pb.WatchAccountResponse) -> None:
    which = response.WhichOneof("item")
    if which == "conference_snapshot":
        c = response.conference_snapshot.conference
        w.snapshot_of(c.account_sid, c.conference_sid, c.revision)
    elif which == "event":
        e = response.event
        w.event_of(e.conference.account_sid, e.conference.conference_sid, e.revision,
                   e.type == _ENDED)  # fmt: skip
    w.floor.apply(account_item(response))
    if response.cursor:
        w.cursor = response.cursor
    if which == "snapshot_complete":
        w.ready = True


async def sse_watcher(
    cluster: Cluster,
    w: Watcher,
    http: aiohttp.ClientSession,
    token: str,
    settle: asyncio.Event,
) -> None:
    """Reads the events route with a watch token, cutting and resuming at
    random with Last-Event-ID (Rule 3), until cancelled."""
    while True:
        _cancelled()
        replica = w.rng.choice(cluster.live())
        server = cluster.servers[replica]
        incarnation = cluster.incarnation[replica]
        budget = None if settle.is_set() else w.rng.randint(2, 40)
        if w.cursor:
            w.resumes[(replica, incarnation)] += 1
        headers = {"Last-Event-ID": w.cursor} if w.cursor else {}
        url = f"http://127.0.0.1:{server.http_port}/rollcall/v1/accounts/{ACCOUNT_SID}/events"
        try:
            response = await http.get(
                url,
                params={"access_token": token},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=READ_WAIT, sock_read=None),
            )
        except aiohttp.ClientError as error:
            _cancelled()
            w.errors[type(error).__name__] += 1
            continue
        stream = EventStream(response)
        try:
            if response.status != 200:
                w.errors[f"HTTP {response.status}: {await response.text()}"] += 1
                continue
            while budget is None or budget > 0:
                _cancelled()
                block = await stream.next(READ_WAIT)
                if _fold_sse(w, block.event, block.json if block.data else None):
                    break
                if block.id:
                    w.cursor = block.id
                    if budget is not None:
                        budget -= 1
        except (EOFError, aiohttp.ClientError) as error:
            _cancelled()
            w.errors[type(error).__name__] += 1
        finally:
            stream.close()
            stream.blocks.clear()


def _fold_sse(w: Watcher, event: str, data: Any) -> bool:
    """Applies one block; True when the stream ended with an error."""
    if event == "snapshot":
        w.start_over()
    elif event == "conference":
        c = data["conference"]
        w.snapshot_of(c["account_sid"], c["sid"], data["revision"])
        w.sse_floor[c["sid"]] = {p["call_sid"]: _json_row(p) for p in data["participants"]}
    elif event == "snapshot-complete":
        w.ready = True
    elif event == "change":
        c, p = data["conference"], data["participant"]
        sid = c["sid"]
        ended = data["type"] == "conference-end"
        w.event_of(c["account_sid"], sid, data["revision"], ended)
        if ended:
            w.sse_floor.pop(sid, None)
            return False
        people = w.sse_floor.setdefault(sid, {})
        if p is None:
            return False
        if data["type"] == "participant-leave" or p["status"] in ("complete", "failed"):
            people.pop(p["call_sid"], None)
        else:
            people[p["call_sid"]] = _json_row(p)
    elif event == "stream-error":
        w.errors[f"stream-error {data['reason']}"] += 1
        return True
    return False


async def listed_floor(
    cluster: Cluster, replica: int, metadata: Any = MD
) -> tuple[Floor, dict[str, int]]:
    """The account's live conferences and active participants as the Lists
    show them, with each live conference's revision."""
    conferences = await cluster.conference_stub(replica).ListConferences(
        cpb.ListConferencesRequest(parent=f"accounts/{ACCOUNT_SID}", page_size=1000),
        metadata=metadata,
        timeout=READ_WAIT,
    )
    assert not conferences.next_page_token
    floor: Floor = {}
    revisions: dict[str, int] = {}
    for c in conferences.conferences:
        if c.status == ppb.CONFERENCE_STATUS_COMPLETED:
            continue
        page = await cluster.stub(replica).ListParticipants(
            pb.ListParticipantsRequest(parent=c.name, page_size=1000),
            metadata=metadata,
            timeout=READ_WAIT,
        )
        assert not page.next_page_token
        floor[c.conference_sid] = {p.call_sid: _row(p) for p in page.participants}
        revisions[c.conference_sid] = page.revision
    return floor, revisions


def differences(w: Watcher, floor: Floor, revisions: dict[str, int]) -> Iterator[str]:
    """How `w` differs from the Lists (nothing: it has caught up with them)."""
    state = w.state()
    for sid in sorted(set(state) | set(floor)):
        if sid not in floor:
            yield f"{sid}: live on the watcher, ended in the Lists"
        elif sid not in state:
            yield f"{sid}: live in the Lists (r{revisions[sid]}), not on the watcher"
        elif w.last.get(sid) != revisions[sid]:
            yield f"{sid}: at r{w.last.get(sid)} on the watcher, r{revisions[sid]} in the Lists"
        elif state[sid] != floor[sid]:
            yield f"{sid}: {state[sid]} on the watcher, {floor[sid]} in the Lists"
