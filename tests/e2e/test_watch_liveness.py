"""End to end: a watch stream is never left hanging on a dead link (issue 20).

A frozen link (tests/e2e/proxy.py: nothing closed, nothing forwarded)
between a watcher and a server process: the Python client's watch, async and
sync, and `rollcall watch` take the stream for dead (keepalive, or no item
nor progress marker for three of the server's announced intervals), say so
once, reconnect through new connections and resume, with every event of the
frozen period once and in order; the server frees a frozen watcher's stream
(its watch-stream gauge goes back down) within its keepalive timeout. On the
manual clock: a stream the server leaves silent is resumed after three
announced intervals, and a filtered stream woken by events it drops still
gets its progress marker on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest

from clients.client import AsyncRollcallClient
from clients.errors import RollcallClientError
from clients.sync import RollcallClient
from clients.watch_items import (
    EventItem,
    InitialStateComplete,
    ProgressItem,
    Reconnected,
    WatchItem,
)
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic, started
from tests.e2e.client_watch import Collector, connected_pair, event_revisions
from tests.e2e.process import ServerProcess
from tests.e2e.proxy import FreezableProxy
from tests.e2e.storm import metric
from tests.poll import eventually

pytestmark = pytest.mark.slow

# A frozen period must be over, every event of it delivered, within this.
RECOVERY_SECONDS = 30.0
WAIT_SECONDS = 20.0
# The watcher's own keepalive, within what the server below accepts.
FAST_KEEPALIVE: dict[str, Any] = {"keepalive": 1.0, "keepalive_timeout": 1.0}
MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)


@contextlib.contextmanager
def fast_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server process on the real clock: a progress marker every second,
    keepalive pings every second, calls that ring (and change) no more."""
    server = ServerProcess(
        tmp_path / "liveness.sqlite3",
        ROLLCALL_WATCH_PROGRESS_SECONDS="1",
        ROLLCALL_GRPC_KEEPALIVE_SECONDS="1",
        ROLLCALL_GRPC_KEEPALIVE_TIMEOUT_SECONDS="1",
        ROLLCALL_GRPC_KEEPALIVE_MIN_CLIENT_SECONDS="0.5",
        ROLLCALL_SIM_RING_SECONDS="3600",
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        yield server
    finally:
        server.close()


def client_for(target: str, **options: Any) -> AsyncRollcallClient:
    return AsyncRollcallClient(target, ACCOUNT_SID, AUTH_TOKEN, timeout=WAIT_SECONDS, **options)


async def create(rollcall: AsyncRollcallClient, n: int) -> participant_pb2.Participant:
    return await rollcall.create_participant(
        "frozen room", from_endpoint="+15005550006", to_endpoint=f"+1555123{n:04d}"
    )


def covered(items: Sequence[WatchItem]) -> int:
    """The revision the items delivered so far reach (-1: none yet)."""
    revisions = [
        i.revision for i in items if isinstance(i, EventItem | InitialStateComplete | ProgressItem)
    ]
    return max(revisions, default=-1)


async def reference_events(
    rollcall: AsyncRollcallClient, conference: str, after: int, through: int
) -> list[tuple[int, int]]:
    """(revision, type) of every event after `after` through `through`, read
    straight from the server."""
    events: list[tuple[int, int]] = []
    items = rollcall.watch(conference, resume_after_revision=after, reconnect=False)
    async with asyncio.timeout(WAIT_SECONDS):
        async for item in items:
            if isinstance(item, EventItem):
                events.append((item.revision, item.type))
                if item.revision >= through:
                    break
    await items.aclose()
    return events


async def async_watch(target: str, conference: str) -> AsyncIterator[WatchItem]:
    """The async client's watch, with a keepalive of its own."""
    async with client_for(target, **FAST_KEEPALIVE) as watcher:
        items = watcher.watch(conference, max_backoff=0.2)
        try:
            async for item in items:
                yield item
        finally:
            await items.aclose()


async def sync_watch(target: str, conference: str) -> AsyncIterator[WatchItem]:
    """The sync client's watch, iterated in a thread, as an async iterator."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[WatchItem | None] = asyncio.Queue()
    client = RollcallClient(target, ACCOUNT_SID, AUTH_TOKEN, **FAST_KEEPALIVE)

    def follow() -> None:
        try:
            for item in client.watch(conference, max_backoff=0.2):
                loop.call_soon_threadsafe(queue.put_nowait, item)
        except (RollcallClientError, RuntimeError):
            pass  # closed by the finally below
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    following = asyncio.create_task(asyncio.to_thread(follow))
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        await asyncio.to_thread(client.close)
        await following


class Follower:
    """Consumes a watch in a task; the test waits, bounded, for what must arrive."""

    def __init__(self, items: AsyncIterator[WatchItem]) -> None:
        self.items: list[WatchItem] = []
        self.finished = False
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._consume(items))

    async def _consume(self, items: AsyncIterator[WatchItem]) -> None:
        try:
            async for item in items:
                async with self._changed:
                    self.items.append(item)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self.finished = True
                self._changed.notify_all()

    async def until_covered(self, revision: int, seconds: float = WAIT_SECONDS) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: covered(self.items) >= revision or self.finished),
                seconds,
            )
        if covered(self.items) < revision:
            await self._task  # raises what ended the watch
            raise AssertionError(f"the watch ended early: {self.items}")

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_a_watch_behind_a_frozen_link_resumes_with_every_event_once(
    tmp_path: Path, flavour: str
) -> None:
    with fast_server(tmp_path) as server:
        async with client_for(server.target) as direct, FreezableProxy(server.target) as proxy:
            conference = (await create(direct, 0)).conference_sid
            follow = async_watch if flavour == "async" else sync_watch
            watch = Follower(follow(proxy.target, conference))
            try:
                await watch.until_covered(0)  # the snapshot
                live = await create(direct, 1)
                await watch.until_covered(live.revision)

                proxy.freeze()
                meanwhile = [await create(direct, n) for n in (2, 3, 4)]
                proxy.admit()
                await watch.until_covered(meanwhile[-1].revision, RECOVERY_SECONDS)
            finally:
                await watch.stop()
            snapshot = next(i for i in watch.items if isinstance(i, InitialStateComplete))
            reached = max(event_revisions(watch.items))
            expected = await reference_events(direct, conference, snapshot.revision, reached)

    events = [(i.revision, i.type) for i in watch.items if isinstance(i, EventItem)]
    assert events == expected  # every event after the snapshot, once, in order
    assert [revision for revision, _ in events] == list(range(snapshot.revision + 1, reached + 1))
    (notice,) = [i for i in watch.items if isinstance(i, Reconnected)]
    assert notice.kind == "resumed"
    assert notice.revision == covered(watch.items[: watch.items.index(notice)])
    assert notice.revision < meanwhile[0].revision
    assert (notice.error.code, notice.error.reason) in {
        ("DEADLINE_EXCEEDED", "STREAM_IDLE"),  # three progress intervals of silence
        ("UNAVAILABLE", "UNAVAILABLE"),  # the keepalive ping went unanswered
    }
    assert proxy.connections >= 2  # it came back through a new connection


async def test_cli_watch_behind_a_frozen_link_says_so_once_and_resumes(tmp_path: Path) -> None:
    with fast_server(tmp_path) as server:
        async with client_for(server.target) as direct, FreezableProxy(server.target) as proxy:
            conference = (await create(direct, 0)).conference_sid
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from clients.cli import main; raise SystemExit(main())",
                "watch",
                conference,
                "--json",
                "--target",
                proxy.target,
                "--account-sid",
                ACCOUNT_SID,
                "--auth-token",
                AUTH_TOKEN,
                "--keepalive",
                "1",
                "--keepalive-timeout",
                "1",
                "--max-backoff",
                "0.2",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            lines: list[dict[str, Any]] = []
            changed = asyncio.Condition()

            async def read() -> None:
                assert cli.stdout is not None
                async for raw in cli.stdout:
                    async with changed:
                        lines.append(json.loads(raw))
                        changed.notify_all()

            def reached() -> int:
                revisions = [
                    int(line[line["kind"]]["revision"])
                    for line in lines
                    if line["kind"] in ("event", "initial_state_complete", "progress")
                ]
                return max(revisions, default=-1)

            async def until(holds: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
                async with changed:
                    await asyncio.wait_for(changed.wait_for(holds), seconds)

            reading = asyncio.create_task(read())
            try:
                await until(lambda: reached() >= 0)  # the snapshot
                live = await create(direct, 1)
                await until(lambda: reached() >= live.revision)

                proxy.freeze()
                meanwhile = [await create(direct, n) for n in (2, 3, 4)]
                proxy.admit()
                await until(lambda: reached() >= meanwhile[-1].revision, RECOVERY_SECONDS)
            finally:
                if cli.returncode is None:
                    cli.send_signal(signal.SIGINT)
                code = await asyncio.wait_for(cli.wait(), WAIT_SECONDS)
                await reading
            assert cli.stderr is not None
            err = (await cli.stderr.read()).decode()
            start = next(
                int(line["initial_state_complete"]["revision"])
                for line in lines
                if line["kind"] == "initial_state_complete"
            )
            events = [
                (int(line["event"]["revision"]), line["event"]["type"])
                for line in lines
                if line["kind"] == "event"
            ]
            expected = await reference_events(direct, conference, start, events[-1][0])

    assert code == 130  # Ctrl-C, quietly
    names = [
        (r, pb.ConferenceEventType.Name(pb.ConferenceEventType.ValueType(t))) for r, t in expected
    ]
    assert events == names
    assert [revision for revision, _ in events] == list(range(start + 1, events[-1][0] + 1))
    (notice,) = [line for line in lines if line["kind"] in ("resumed", "resnapshot")]
    assert notice["kind"] == "resumed" and int(notice["revision"]) < meanwhile[0].revision
    # Said once on stderr, however many attempts the reconnect took.
    assert err.count("reconnecting") == 1, err
    assert proxy.connections >= 2


async def test_the_server_frees_a_frozen_watchers_stream(tmp_path: Path) -> None:
    with fast_server(tmp_path) as server:
        async with client_for(server.target) as direct, FreezableProxy(server.target) as proxy:
            conference = (await create(direct, 0)).conference_sid
            # A bare grpc channel: no keepalive, no idle timeout, no reconnect.
            # Only the server can notice the link is dead.
            channel = grpc.aio.insecure_channel(proxy.target)
            call = pb_grpc.ParticipantServiceStub(channel).WatchConference(
                pb.WatchConferenceRequest(parent=direct.conference_name(conference)), metadata=MD
            )
            try:
                async with asyncio.timeout(WAIT_SECONDS):
                    while not (await call.read()).HasField("initial_state_complete"):
                        pass

                async def open_streams() -> float:
                    return await metric(server.metrics_port, "rollcall_watch_streams")

                await eventually(lambda: _equals(open_streams(), 1), "the stream counted")
                proxy.freeze()
                await eventually(
                    lambda: _equals(open_streams(), 0),
                    "the server freed the frozen stream",
                    seconds=WAIT_SECONDS,
                )
            finally:
                call.cancel()
                await channel.close()


async def _equals(value: Any, expected: float) -> bool:
    return bool(await value == expected)


async def test_a_stream_left_silent_for_three_progress_intervals_is_resumed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The server's clock stands still: it never sends a progress marker, on a
    # connection that is alive. The client knows markers are due every second
    # (the stream's initial metadata says so), so after three seconds of
    # nothing it gives the stream up and opens another.
    async with (
        started(tmp_path, watch_progress_seconds=1.0) as h,
        client_for(h.grpc_target) as rollcall,
    ):
        conference = await connected_pair(rollcall, h.advance)
        watch = Collector(rollcall.watch(conference, max_backoff=0.05))
        try:
            await watch.until(lambda seen: any(isinstance(i, InitialStateComplete) for i in seen))
            await eventually(
                lambda: any("STREAM_IDLE" in r.getMessage() for r in caplog.records),
                "the client gave the silent stream up",
            )
            muted = await rollcall.update_participant(conference, "agent", muted=True)
            await watch.until_revision(muted.revision)
        finally:
            await watch.stop()

    snapshot = next(i for i in watch.items if isinstance(i, InitialStateComplete))
    (notice,) = [i for i in watch.items if isinstance(i, Reconnected)]
    assert (notice.kind, notice.revision) == ("resumed", snapshot.revision)
    assert (notice.error.code, notice.error.reason) == ("DEADLINE_EXCEEDED", "STREAM_IDLE")
    assert notice.error.message == "no item or progress marker for 3 s"
    assert event_revisions(watch.items) == [muted.revision]
    assert muted.revision == snapshot.revision + 1


async def test_a_filtered_stream_woken_by_dropped_events_gets_its_marker_on_time(
    tmp_path: Path,
) -> None:
    async with (
        started(tmp_path, watch_progress_seconds=10.0) as h,
        client_for(h.grpc_target) as rollcall,
    ):
        conference = await connected_pair(rollcall, h.advance)
        current = (await rollcall.list_participants(conference)).revision
        call = h.stub.WatchConference(
            pb.WatchConferenceRequest(
                parent=h.parent(conference),
                resume_after_revision=current,
                event_types=[pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_HELD],
            ),
            metadata=h.md(),
        )
        try:
            metadata = await asyncio.wait_for(call.initial_metadata(), WAIT_SECONDS)
            assert ("rollcall-progress-interval-ms", "10000") in tuple(metadata)
            assert h.app.watch is not None
            await h.app.watch.wait_idle(1)
            # A mute at 0, 4 and 8 s: each wakes the stream, none passes its
            # filter. The stream last sent something (nothing) at 0 s.
            for muted, then in ((True, 4.0), (False, 4.0), (True, 2.0)):
                last = await rollcall.update_participant(conference, "agent", muted=muted)
                await h.app.watch.wait_idle(1)
                await h.advance(then)
            read = asyncio.ensure_future(call.read())
            done, _ = await asyncio.wait({read}, timeout=WAIT_SECONDS)
            assert done, "no progress marker an interval after the stream last sent anything"
            marker = read.result()
        finally:
            call.cancel()
    assert marker.WhichOneof("item") == "progress"
    assert marker.progress.revision == last.revision
