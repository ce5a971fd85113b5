"""The CLI's conferences commands and its errors, against a real server (issue 26).

Commands run in a worker thread (the CLI runs its own event loop) while the
test's loop serves; error lines are compared whole.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from clients import AsyncRollcallClient, RollcallClient, cli
from rollcall.v1 import participant_pb2 as ppb
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness
from tests.ports import closed_port

CLI = [sys.executable, "-c", "import sys; from clients.cli import main; sys.exit(main())"]


class Cli:
    def __init__(self, target: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.connect = [
            "--target",
            target,
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ]
        self.capsys = capsys

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, [*argv, *self.connect])
        out, err = self.capsys.readouterr()
        return code, out, err


async def test_conferences_list_fetch_announce_end(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    rollcall = Cli(harness.grpc_target, capsys)
    code, out, _ = await rollcall(
        "participants", "create", "weekly", "--from", "+15005550006", "--to", "+15551230000",
        "--json",
    )  # fmt: skip
    assert code == 0
    conference = json.loads(out)["conference_sid"]

    code, out, err = await rollcall("conferences", "list")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split() == [
        "CONFERENCE", "SID", "FRIENDLY", "NAME", "STATUS", "REVISION", "CREATED", "END", "REASON",
    ]  # fmt: skip
    assert row.split()[:3] == [conference, "weekly", "init"]

    code, out, _ = await rollcall("conferences", "list", "--all", "--json")
    assert [c["friendly_name"] for c in json.loads(out)["conferences"]] == ["weekly"]

    # By friendly name, as every CONFERENCE argument takes.
    code, out, _ = await rollcall("conferences", "fetch", "weekly")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name:", f"accounts/{ACCOUNT_SID}/conferences/{conference}"]
    assert "friendly_name:              weekly" in lines

    code, out, _ = await rollcall(
        "conferences", "announce", conference, "--url", "https://example.com/hello.mp3", "--json"
    )
    assert code == 0 and json.loads(out)["conference_sid"] == conference

    code, out, _ = await rollcall("conferences", "end", conference, "--json")
    assert code == 0
    assert json.loads(out)["status"] == "CONFERENCE_STATUS_COMPLETED"


async def test_sync_client_conferences(harness: Harness) -> None:
    async with AsyncRollcallClient(harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN) as client:
        for name in ("one", "two"):
            await client.create_participant(
                name, from_endpoint="+15005550006", to_endpoint="+15551230000"
            )

    def scenario() -> tuple[list[str], str, int]:
        with RollcallClient(harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN) as client:
            names = [c.friendly_name for c in client.iter_conferences(page_size=1)]
            fetched = client.fetch_conference("one")
            announced = client.announce_conference("one", "https://example.com/a.mp3")
            assert announced.conference_sid == fetched.conference_sid
            ended = client.end_conference("two")
            return names, fetched.friendly_name, ended.status

    names, fetched, ended = await asyncio.to_thread(scenario)
    assert (names, fetched) == (["two", "one"], "one")
    assert ended == ppb.CONFERENCE_STATUS_COMPLETED


@pytest.mark.slow
async def test_errors_are_one_line_with_flags_and_exit_codes(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    rollcall = Cli(harness.grpc_target, capsys)
    code, out, err = await rollcall(
        "participants", "create", "room", "--from", "+15005550006", "--to", "12"
    )
    assert (code, out) == (1, "")
    assert err == (
        "error: participants create failed (INVALID_ARGUMENT, twilio 21211):"
        " --to: not a valid phone number, client or SIP address\n"
    )
    code, out, err = await rollcall("conferences", "fetch", "CF" + "0" * 32)
    assert (code, out) == (3, "")
    assert err == (
        "error: conferences fetch failed (CONFERENCE_NOT_FOUND, twilio 20404):"
        f" The requested resource conference CF{'0' * 32} was not found\n"
    )
    code, out, err = await rollcall("conferences", "fetch", "CF" + "0" * 32, "--json")
    assert (code, out) == (3, "")
    assert json.loads(err)["error"]["reason"] == "CONFERENCE_NOT_FOUND"

    nowhere = Cli(f"127.0.0.1:{closed_port()}", capsys)
    code, out, err = await nowhere("conferences", "list", "--deadline", "5")
    assert (code, out) == (4, "")
    assert err == (
        f"error: server not reachable at 127.0.0.1:{nowhere.connect[1].rpartition(':')[2]}"
        " (CONNECTION_FAILED); is it running? set --target or ROLLCALL_TARGET\n"
    )


@pytest.mark.slow
async def test_a_closed_pipe_ends_quietly(harness: Harness) -> None:
    """`rollcall ... | head`: the reader is gone before anything is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = await asyncio.create_subprocess_exec(
            *CLI, "conferences", "list", "--target", harness.grpc_target,
            stdout=writer,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "ROLLCALL_ACCOUNT_SID": ACCOUNT_SID,
                 "ROLLCALL_AUTH_TOKEN": AUTH_TOKEN},
        )  # fmt: skip
    finally:
        os.close(writer)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, err.decode()) == (0, "")
