"""End to end: the client's watch (async, sync, CLI) against real servers.

Snapshot then live events; resuming by itself across a server restart on the
same port and database, with no event repeated or missed; re-snapshotting
when the history it needs was compacted while it was away; the sync iterator
and `rollcall watch --json` until the conference ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from clients import cli
from clients.client import AsyncRollcallClient
from clients.errors import RollcallClientError
from clients.sync import RollcallClient
from clients.watch_items import (
    ConferenceState,
    EventItem,
    InitialParticipant,
    InitialStateComplete,
    Reconnected,
    WatchItem,
)
from rollcall.v1 import participant_service_pb2 as pb
from service.app import App
from service.clock import ManualClock
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, make_settings
from tests.e2e.client_watch import (
    TIMEOUT,
    Collector,
    client_for,
    connected_pair,
    event_revisions,
)
from tests.e2e.helpers import callbacks_caught_up

T = pb
# Each server of a test starts its clock later than the one before: event
# times stay in order across restarts, as with a real clock.
FIRST, MEANWHILE, SECOND = 1_700_000_000.0, 1_700_000_100.0, 1_700_000_200.0


@contextlib.asynccontextmanager
async def server(
    tmp_path: Path, port: int = 0, start: float = FIRST, **settings: Any
) -> AsyncIterator[App]:
    """A server on the test's database file (the same file every time)."""
    app = App(
        make_settings(tmp_path, grpc_listen=f"127.0.0.1:{port}", http_listen="", **settings),
        clock=ManualClock(start),
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop(grace=0)


@contextlib.asynccontextmanager
async def meanwhile(
    tmp_path: Path, *, compacts: bool = False, **settings: Any
) -> AsyncIterator[AsyncRollcallClient]:
    """A server on the same database that a cut-off watcher cannot reach: on a
    Unix socket, since a new TCP listener might be given the old port. With
    `compacts`, it compacts as it stops and must delete something."""
    listen = f"unix:{tmp_path}/meanwhile.sock"
    app = App(
        make_settings(tmp_path, grpc_listen=listen, http_listen="", **settings),
        clock=ManualClock(MEANWHILE),
    )
    await app.start()
    try:
        async with client_for(listen) as rollcall:
            yield rollcall
        if compacts:
            await advance_of(app)(1)  # past the retention time of every event so far
            await callbacks_caught_up(app)
            assert await app.compact() > 0
    finally:
        await app.stop(grace=0)


def advance_of(app: App) -> Callable[[float], Awaitable[None]]:
    clock = app.clock
    assert isinstance(clock, ManualClock)
    return clock.advance


async def test_snapshot_then_live_events(harness: Harness) -> None:
    async with client_for(harness.grpc_target) as rollcall:
        conference = await connected_pair(rollcall, harness.advance)
        watch = Collector(rollcall.watch(conference))
        await watch.until(lambda items: any(isinstance(i, InitialStateComplete) for i in items))
        *initial, done = watch.items
        assert all(isinstance(i, InitialParticipant) for i in initial)
        assert {i.participant.label for i in initial if isinstance(i, InitialParticipant)} == {
            "agent",
            "customer",
        }
        assert isinstance(done, InitialStateComplete)
        assert done.raw.WhichOneof("item") == "initial_state_complete"

        assert harness.app.watch is not None
        await harness.app.watch.wait_idle(1)
        muted = await rollcall.update_participant(conference, "agent", muted=True)
        await watch.until_revision(muted.revision)
        event = watch.items[-1]
        assert isinstance(event, EventItem)
        assert (event.revision, event.word) == (done.revision + 1, "participant-mute")
        assert event.type == T.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED
        assert event.event.participant == muted

        state = ConferenceState()
        for item in watch.items:
            state.apply(item)
        assert state.ready and state.revision == muted.revision
        assert state.by_label("agent") == muted
        await watch.stop()


async def test_resumes_by_itself_after_a_restart_on_the_same_port(tmp_path: Path) -> None:
    async with server(tmp_path) as first:
        port = first.grpc_port
        rollcall = client_for(f"127.0.0.1:{port}")
        conference = await connected_pair(rollcall, advance_of(first))
        watch = Collector(rollcall.watch(conference, max_backoff=0.05))
        await watch.until(lambda items: any(isinstance(i, InitialStateComplete) for i in items))
        assert first.watch is not None
        await first.watch.wait_idle(1)
        before = (await rollcall.update_participant(conference, "agent", muted=True)).revision
        await watch.until_revision(before)

    # While the watcher is cut off, another server on the same database (on
    # another port, so the watcher cannot reach it) makes three changes.
    async with meanwhile(tmp_path) as other:
        await other.update_participant(conference, "agent", muted=False)
        await other.update_participant(conference, "customer", hold=True)
        missed = (await other.update_participant(conference, "agent", muted=True)).revision
    assert missed == before + 3

    async with server(tmp_path, port=port, start=SECOND) as second:
        await watch.until_revision(missed)
        assert second.watch is not None
        await second.watch.wait_idle(1)
        live = (await rollcall.update_participant(conference, "customer", hold=False)).revision
        await watch.until_revision(live)
        await watch.stop()
        await rollcall.close()

    start = next(i for i, item in enumerate(watch.items) if isinstance(item, InitialStateComplete))
    after_snapshot = watch.items[start:]
    # One notice for the whole outage, however many attempts it took.
    (notice,) = [item for item in after_snapshot if isinstance(item, Reconnected)]
    assert (notice.kind, notice.revision) == ("resumed", before)
    assert notice.error.code in ("UNAVAILABLE", "CANCELLED")
    notice_at = after_snapshot.index(notice)
    assert event_revisions(after_snapshot[:notice_at]) == [before]
    # Every revision after the snapshot, once, in order: none lost, none repeated.
    snapshot_revision = watch.items[start]
    assert isinstance(snapshot_revision, InitialStateComplete)
    assert event_revisions(after_snapshot) == list(range(snapshot_revision.revision + 1, live + 1))
    replayed = after_snapshot[notice_at + 1]
    assert isinstance(replayed, EventItem) and replayed.revision == before + 1


async def test_resnapshots_when_the_history_was_compacted(tmp_path: Path) -> None:
    retention = {"event_retention_count": 1, "event_retention_seconds": 0}
    async with server(tmp_path, **retention) as first:
        port = first.grpc_port
        rollcall = client_for(f"127.0.0.1:{port}")
        conference = await connected_pair(rollcall, advance_of(first))
        watch = Collector(rollcall.watch(conference, max_backoff=0.05))
        await watch.until(lambda items: any(isinstance(i, InitialStateComplete) for i in items))
        covered = watch.items[-1]
        assert isinstance(covered, InitialStateComplete)

    async with meanwhile(tmp_path, compacts=True, **retention) as other:
        await other.update_participant(conference, "agent", muted=True)
        await other.delete_participant(conference, "customer")
        await other.update_participant(conference, "agent", hold=True)

    async with server(tmp_path, port=port, start=SECOND, **retention) as second:
        await watch.until(
            lambda items: sum(isinstance(i, InitialStateComplete) for i in items) == 2
        )
        async with client_for(f"127.0.0.1:{second.grpc_port}") as other:
            page = await other.list_participants(conference)
        await watch.stop()
        await rollcall.close()

    start = watch.items.index(covered)
    after = watch.items[start + 1 :]
    notice = after[0]
    assert isinstance(notice, Reconnected)
    assert (notice.kind, notice.revision) == ("resnapshot", covered.revision)
    assert (notice.error.code, notice.error.reason) == ("OUT_OF_RANGE", "REVISION_COMPACTED")
    assert [type(i) for i in after[1:]] == [InitialParticipant, InitialStateComplete]
    state = ConferenceState()
    for item in watch.items:
        state.apply(item)
    assert state.ready and state.revision == page.revision
    assert list(state.participants.values()) == list(page.participants)
    assert state.by_label("agent") is not None and state.by_label("agent").hold  # type: ignore[union-attr]


async def test_without_reconnect_errors_raise(tmp_path: Path) -> None:
    async with server(tmp_path) as app, client_for(f"127.0.0.1:{app.grpc_port}") as rollcall:
        conference = await connected_pair(rollcall, advance_of(app))
        items = rollcall.watch(conference, resume_after_revision=10_000, reconnect=False)
        with pytest.raises(RollcallClientError) as caught:
            await asyncio.wait_for(anext(items), TIMEOUT)
        assert (caught.value.code, caught.value.reason) == (
            "INVALID_ARGUMENT",
            "REVISION_FROM_FUTURE",
        )


async def test_sync_watch_in_a_thread(harness: Harness) -> None:
    async with client_for(harness.grpc_target) as rollcall:
        conference = await connected_pair(rollcall, harness.advance)
    loop = asyncio.get_running_loop()
    snapshot_done = asyncio.Event()

    def follow() -> list[WatchItem]:
        seen: list[WatchItem] = []
        with RollcallClient(harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN) as sync_client:
            for item in sync_client.watch(conference, event_types=["participant-hold"]):
                seen.append(item)
                if isinstance(item, InitialStateComplete):
                    loop.call_soon_threadsafe(snapshot_done.set)
                if isinstance(item, EventItem):
                    break  # leaving the loop cancels the stream
        return seen

    following = asyncio.create_task(asyncio.to_thread(follow))
    await asyncio.wait_for(snapshot_done.wait(), TIMEOUT)
    assert harness.app.watch is not None
    await harness.app.watch.wait_idle(1)
    async with client_for(harness.grpc_target) as rollcall:
        await rollcall.update_participant(conference, "agent", muted=True)  # filtered out
        held = await rollcall.update_participant(conference, "customer", hold=True)
    seen = await asyncio.wait_for(following, TIMEOUT)
    last = seen[-1]
    assert isinstance(last, EventItem)
    assert (last.word, last.event.participant) == ("participant-hold", held)
    assert sum(isinstance(i, InitialParticipant) for i in seen) == 2


async def test_closing_the_sync_client_ends_a_watch_in_another_thread(harness: Harness) -> None:
    async with client_for(harness.grpc_target) as rollcall:
        conference = await connected_pair(rollcall, harness.advance)
    loop = asyncio.get_running_loop()
    snapshot_done = asyncio.Event()
    sync_client = RollcallClient(harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN)

    def follow() -> BaseException | None:
        try:
            for item in sync_client.watch(conference):
                if isinstance(item, InitialStateComplete):
                    loop.call_soon_threadsafe(snapshot_done.set)
        except (RollcallClientError, RuntimeError) as exc:
            return exc
        return None

    following = asyncio.create_task(asyncio.to_thread(follow))
    await asyncio.wait_for(snapshot_done.wait(), TIMEOUT)
    await asyncio.wait_for(asyncio.to_thread(sync_client.close), TIMEOUT)
    ended = await asyncio.wait_for(following, TIMEOUT)
    assert ended is not None and "closed" in str(ended)


async def test_cli_watch_json_until_the_conference_ends(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(harness.grpc_target) as rollcall:
        agent = await rollcall.create_participant(
            "cli room", from_endpoint="+15005550006", to_endpoint="+15551230000", label="agent"
        )
        await harness.advance(3)
        conference = agent.conference_sid
        argv = ["watch", conference, "--json", "--target", harness.grpc_target]
        argv += ["--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN]
        running = asyncio.create_task(asyncio.to_thread(cli.main, argv))
        assert harness.app.watch is not None
        await harness.app.watch.wait_idle(1)
        await rollcall.update_participant(conference, "agent", muted=True)
        await rollcall.delete_participant(conference, "agent")  # the last one: it ends
        code = await asyncio.wait_for(running, TIMEOUT)
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["kind"] for line in lines] == [
        "initial_participant",
        "initial_state_complete",
        "event",
        "event",
        "event",
    ]
    assert lines[0]["initial_participant"]["label"] == "agent"
    assert [line["event"]["type"] for line in lines[2:]] == [
        "CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED",
        "CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT",
        "CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED",
    ]
    revisions = [int(line["event"]["revision"]) for line in lines[2:]]
    start = int(lines[1]["initial_state_complete"]["revision"])
    assert revisions == [start + 1, start + 2, start + 3]


async def test_cli_watch_readable_lines_and_refusals(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(harness.grpc_target) as rollcall:
        agent = await rollcall.create_participant(
            "room", from_endpoint="+15005550006", to_endpoint="+15551230000", label="agent"
        )
        conference = agent.conference_sid
        connect = ["--target", harness.grpc_target, "--account-sid", ACCOUNT_SID]
        connect += ["--auth-token", AUTH_TOKEN]
        # Resume from the start: the whole history, then the end.
        await harness.advance(3)
        await rollcall.delete_participant(conference, "agent")
    code = await asyncio.to_thread(
        cli.main,
        ["watch", conference, "--resume-after", "0", "--type", "participant-join", *connect],
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    (line,) = out.splitlines()
    assert line.startswith("r4 ") and " participant-join " in line
    assert f"{agent.call_sid} label=agent muted=false hold=false status=connected" in line

    code = await asyncio.to_thread(cli.main, ["watch", "CFnope", *connect])
    out, err = capsys.readouterr()
    assert (code, out) == (3, "")
    assert err == (
        "error: watch failed (CONFERENCE_NOT_FOUND, twilio 20404):"
        " The requested resource conference CFnope was not found\n"
    )

    code = await asyncio.to_thread(cli.main, ["watch", conference, "--type", "nonsense", *connect])
    _, err = capsys.readouterr()
    assert code == 2 and "participant-mute" in err
