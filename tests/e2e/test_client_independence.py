"""The Python client works without the server package: importing it, and
running the CLI's client commands, loads no `service` module (a user can
install and use the client alone)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness

CHECK = """
import sys
import {module}
loaded = sorted(m for m in sys.modules if m == "service" or m.startswith("service."))
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    "module",
    ["clients", "clients.client", "clients.watch", "clients.sync", "clients.errors"],
)
def test_importing_the_client_loads_no_server_module(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "", f"{module} pulled in: {done.stdout.strip()}"


RUN_CLI = """
import sys
from clients.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m == "service" or m.startswith("service."))
print("LOADED:" + ",".join(loaded))
sys.exit(code)
"""


async def _cli(*argv: str) -> tuple[int, str, list[str]]:
    """Run `rollcall ARGV` in a fresh interpreter: (exit code, output, the
    service modules it loaded)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN_CLI,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await child.communicate()
    text = out.decode()
    head, _, loaded = text.rpartition("LOADED:")
    assert child.returncode is not None
    return child.returncode, head + err.decode(), [m for m in loaded.strip().split(",") if m]


@pytest.mark.slow
async def test_the_client_commands_load_no_server_module(harness: Harness) -> None:
    """`rollcall participants ...`, `watch` and `callbacks ...` against a real
    server: each does its work without importing the server package."""
    connect = ["--target", harness.grpc_target, "--account-sid", ACCOUNT_SID]
    connect += ["--auth-token", AUTH_TOKEN]
    code, out, loaded = await _cli(
        "participants", *connect, "--json", "create", "Independent",
        "--from", "+15005550006", "--to", "+15558675310",
    )  # fmt: skip
    assert (code, loaded) == (0, []), out
    created = json.loads(out[: out.rindex("}") + 1])
    code, out, loaded = await _cli("participants", *connect, "list", created["conference_sid"])
    assert (code, loaded) == (0, []), out
    assert created["call_sid"] in out
    code, out, loaded = await _cli("callbacks", "dead-letters", "list", *connect)
    assert (code, loaded) == (0, []), out
    # An unknown conference: the watch is refused by the service (exit 3, not found).
    code, out, loaded = await _cli("watch", *connect, "CF" + "0" * 32)
    assert (code, loaded) == (3, []), out
    assert "CONFERENCE_NOT_FOUND" in out
    code, out, loaded = await _cli("conferences", "list", *connect)
    assert (code, loaded) == (0, []), out


@pytest.mark.parametrize(
    "argv", [["--help"], ["participants", "--help"], ["conferences", "--help"], ["watch", "--help"]]
)
async def test_client_help_loads_no_server_module(argv: list[str]) -> None:
    code, out, loaded = await _cli(*argv)
    assert (code, loaded) == (0, []), out


@pytest.mark.parametrize(
    ("argv", "flag"),
    [(["serve", "--help"], "--sim-ring-seconds"), (["gateway", "--help"], "--listen")],
)
async def test_serve_and_gateway_help_still_list_their_flags(argv: list[str], flag: str) -> None:
    code, out, loaded = await _cli(*argv)
    assert code == 0, out
    assert flag in out
    assert "service.config" in loaded  # the server's commands do load it
