"""End to end: `rollcall watch --all` and `rollcall floor` as processes against
a server process: JSON lines with cursors, and the floor as plain lines when
stdout is not a terminal."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from clients.client import AsyncRollcallClient
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.e2e.process import ServerProcess

WAIT = 20.0
# How long a CLI may take to exit after Ctrl-C (clients.interrupt: at once,
# whichever thread the signal lands on; this bound is for a loaded machine).
EXIT_WAIT = 20.0


@contextmanager
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "floor.sqlite3", ROLLCALL_SIM_RING_SECONDS="3600")
    process.log = tmp_path / "server.log"
    try:
        process.start()
        yield process
    finally:
        process.close()


class Cli:
    """A `rollcall` process and the lines it has printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.changed = asyncio.Condition()

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self.changed:
                self.lines.append(raw.decode().rstrip("\n"))
                self.changed.notify_all()

    async def until(self, holds: Callable[[list[str]], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: holds(self.lines)), WAIT)


@asynccontextmanager
async def cli(target: str, *args: str) -> AsyncIterator[Cli]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from clients.cli import main; raise SystemExit(main())",
        *args,
        "--target",
        target,
        "--account-sid",
        ACCOUNT_SID,
        "--auth-token",
        AUTH_TOKEN,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = Cli(process)
    reading = asyncio.create_task(running.read())
    try:
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), EXIT_WAIT)
        await reading
        assert code == 130, code


async def test_watch_all_prints_json_lines_with_cursors(tmp_path: Path) -> None:
    with server(tmp_path) as process:
        async with AsyncRollcallClient(process.target, ACCOUNT_SID, AUTH_TOKEN, timeout=WAIT) as c:
            first = await c.create_participant(
                "desk-1", from_endpoint="+15005550006", to_endpoint="+15551230001", label="a"
            )
            async with cli(process.target, "watch", "--all", "--json") as watching:
                await watching.until(lambda lines: any("snapshot_complete" in x for x in lines))
                second = await c.create_participant(
                    "desk-2", from_endpoint="+15005550006", to_endpoint="+15551230002"
                )
                muted = await c.update_participant("desk-1", "a", muted=True)

                def seen(lines: list[str]) -> set[tuple[str, int]]:
                    found = set()
                    for line in lines:
                        item = json.loads(line)
                        if item["kind"] == "event":
                            event = item["event"]
                            found.add(
                                (event["conference"]["conference_sid"], int(event["revision"]))
                            )
                    return found

                await watching.until(
                    lambda lines: (
                        {(second.conference_sid, 1), (first.conference_sid, muted.revision)}
                        <= seen(lines)
                    )
                )
            items = [json.loads(line) for line in watching.lines]
            snapshots = [i for i in items if i["kind"] == "conference_snapshot"]
            assert [s["conference_snapshot"]["conference"]["friendly_name"] for s in snapshots] == [
                "desk-1"
            ]
            assert all(i["cursor"].startswith("AW") for i in items if i["kind"] == "event")


async def test_floor_degrades_to_plain_lines_off_a_terminal(tmp_path: Path) -> None:
    with server(tmp_path) as process:
        async with AsyncRollcallClient(process.target, ACCOUNT_SID, AUTH_TOKEN, timeout=WAIT) as c:
            await c.create_participant(
                "desk-1", from_endpoint="+15005550006", to_endpoint="+15551230001", label="agent"
            )
            async with cli(process.target, "floor", "--prefix", "desk-") as floor:
                await floor.until(lambda lines: len(lines) >= 2)
                assert floor.lines[0].split() == [
                    "CONFERENCE",
                    "PARTICIPANT",
                    "STATUS",
                    "MUTED",
                    "HOLD",
                    "COACHING",
                    "FOR",
                ]
                row = floor.lines[1].split()
                assert row[:2] == ["desk-1", "agent"] and row[3:6] == ["-", "-", "-"]
                await c.update_participant("desk-1", "agent", muted=True)
                await c.create_participant(
                    "other", from_endpoint="+15005550006", to_endpoint="+15551230003"
                )
                await floor.until(lambda lines: any("participant-mute" in x for x in lines))
            mute = next(x for x in floor.lines if x.startswith("participant-mute"))
            words = mute.split()
            assert words[1:3] == ["desk-1", "agent"] and words[4:6] == ["yes", "-"]
            assert not any("other" in x for x in floor.lines)
            assert not any("\x1b" in x for x in floor.lines)
