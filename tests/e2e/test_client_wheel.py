"""The wheel, installed without extras into a fresh virtualenv, is the client.

1. The wheel installs three top-level packages, service, clients and rollcall,
   and a plain install requires only grpcio, grpcio-status, protobuf and
   googleapis-common-protos; the server's dependencies are the [server] extra.
2. In that virtualenv no server dependency is importable, yet the client
   imports, the CLI's client commands answer --help and work against a real
   server, and the Python clients (async and sync) do too.
3. There `rollcall serve` and `rollcall gateway` print one line saying what to
   install and exit 1, with no traceback.
The wheel is built from a copy of the checkout (what is tracked or not, less
the caches and virtualenvs), so a stale build/ can neither feed it nor be left
behind. Store-independent: skipped in the PostgreSQL pass.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import email.parser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import cli
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pg.test_store() == "postgres", reason="store-independent"),
    # Building and installing: a cold pip cache downloads grpcio and protobuf.
    pytest.mark.timeout(300),
]

ROOT = Path(__file__).resolve().parents[2]
# Not copied: the checkout's git, virtualenvs, build outputs and caches.
NOT_COPIED_AT_ROOT = {".git", ".venv", "node_modules", "build", "dist"}
NOT_COPIED_ANYWHERE = shutil.ignore_patterns(
    "*.egg-info", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.sqlite3*"
)
CLIENT_REQUIREMENTS = {"grpcio", "grpcio-status", "protobuf", "googleapis-common-protos"}
# What `serve` and `gateway` import beyond the client's requirements.
SERVER_MODULES = [
    "aiohttp", "aiosqlite", "asyncpg", "cryptography", "grpc_health", "grpc_reflection",
    "multidict", "orjson", "prometheus_client", "twilio", "uvloop", "yarl",
]  # fmt: skip
HINT = f"pip install '{cli.DISTRIBUTION}[server]'"


@dataclasses.dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    rollcall: Path
    env: dict[str, str]
    cwd: Path

    def run(self, *argv: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env,
            cwd=self.cwd,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, and a fresh virtualenv with it installed without extras."""
    base = tmp_path_factory.mktemp("client-wheel")
    source = base / "source"

    def not_copied(folder: str, names: list[str]) -> set[str]:
        at_root = NOT_COPIED_AT_ROOT if Path(folder) == ROOT else set()
        return set(NOT_COPIED_ANYWHERE(folder, names)) | (at_root & set(names))

    shutil.copytree(ROOT, source, ignore=not_copied)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(base / "wheels"), str(source)],
        check=True, timeout=240, env=env, cwd=base,
    )  # fmt: skip
    (wheel,) = (base / "wheels").glob("*.whl")
    venv = base / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True, timeout=60, env=env, cwd=base,
    )  # fmt: skip
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--quiet", str(wheel)],
        check=True, timeout=240, env=env, cwd=base,
    )  # fmt: skip
    return Installed(wheel, python, venv / "bin" / "rollcall", env, base)


def test_the_wheel_holds_service_clients_and_rollcall_and_requires_the_client_only(
    installed: Installed,
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        (record,) = (n for n in wheel.namelist() if n.endswith(".dist-info/RECORD"))
        info = record.split("/")[0]
        paths = [line.split(",")[0] for line in wheel.read(record).decode().splitlines()]
        metadata = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert {p.split("/")[0] for p in paths} - {info} == {"service", "clients", "rollcall"}
    assert {p.split("/")[1] for p in paths if p.startswith("rollcall/")} == {
        "__init__.py", "py.typed", "v1",
    }  # fmt: skip
    # The API's .proto files ship too, for other languages' generators.
    assert {
        f"rollcall/v1/{name}.proto"
        for name in ("enums", "participant", "participant_service", "conference_service")
    } | {"rollcall/v1/callback_service.proto"} <= set(paths)
    # The supervisor console's files ship with the server's package.
    assert {
        "service/gateway/assets/console.html",
        "service/gateway/assets/console.js",
        "service/gateway/assets/console.css",
        "service/gateway/assets/icon.svg",
    } <= set(paths)
    assert metadata["Name"] == cli.DISTRIBUTION
    requires = metadata.get_all("Requires-Dist") or []
    plain = {r.split("==")[0].strip() for r in requires if "extra ==" not in r}
    assert plain == CLIENT_REQUIREMENTS
    assert "server" in (metadata.get_all("Provides-Extra") or [])


def test_no_server_dependency_is_importable(installed: Installed) -> None:
    check = "import importlib.util as u, sys; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    done = installed.run(installed.python, "-c", check, *SERVER_MODULES)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_the_client_imports(installed: Installed) -> None:
    script = (
        "import clients\n"
        "from clients import AsyncRollcallClient, ConferenceState, RollcallClient\n"
        "from clients.cli import main\n"
        "from rollcall.v1 import participant_service_pb2_grpc\n"
        "import sys\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'service', 'aiohttp'}))\n"
    )
    done = installed.run(installed.python, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _client_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand under parser, but serve and gateway."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if prefix or name not in ("serve", "gateway"):
                    yield (*prefix, name)
                    yield from _client_commands(sub, (*prefix, name))


def test_the_cli_answers_help_for_every_client_command(installed: Installed) -> None:
    commands = list(_client_commands(cli.build_parser(), ()))
    assert ("participants", "create") in commands
    assert ("callbacks", "dead-letters", "redeliver") in commands
    for argv in [(), *commands]:
        done = installed.run(installed.rollcall, *argv, "--help")
        assert (done.returncode, done.stderr) == (0, ""), argv
        assert done.stdout.startswith("usage: rollcall"), argv
    done = installed.run(installed.rollcall, "--version")
    assert done.stdout.strip() == f"rollcall {importlib.metadata.version(cli.DISTRIBUTION)}"


# Were the server installed they would start: on free ports, in the temporary directory.
QUIET = {
    "serve": ["--grpc-listen", "127.0.0.1:0", "--http-listen", "", "--metrics-listen", ""],
    "gateway": ["--target", "127.0.0.1:9", "--listen", "127.0.0.1:0"],
}


@pytest.mark.parametrize("command", ["serve", "gateway"])
def test_serve_and_gateway_say_what_to_install(installed: Installed, command: str) -> None:
    done = installed.run(installed.rollcall, command, *QUIET[command], timeout=20)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"rollcall {command} needs the server: {HINT} (")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    # Their help still reads (the settings are plain Python) and names the extra.
    done = installed.run(installed.rollcall, command, "--help")
    assert done.returncode == 0, done.stderr
    # (argparse wraps it, at a space or after a hyphen)
    assert "".join(HINT.split()) in "".join(done.stdout.split())


async def _run(installed: Installed, *argv: str | Path) -> tuple[int, str]:
    child = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=installed.env,
        cwd=installed.cwd,
    )
    async with asyncio.timeout(60):
        out, _ = await child.communicate()
    assert child.returncode is not None
    return child.returncode, out.decode()


CLIENTS_SCRIPT = """
import asyncio, sys
from clients import AsyncRollcallClient, RollcallClient

target, sid, token = sys.argv[1:]
with RollcallClient(target, sid, token) as client:
    created = client.create_participant(
        "Wheel", from_endpoint="+15005550006", to_endpoint="+15558675310"
    )

async def listed():
    async with AsyncRollcallClient(target, sid, token) as client:
        return await client.list_participants(created.conference_sid)

listed = [p.call_sid for p in asyncio.run(listed()).participants]
print(created.call_sid, created.conference_sid, listed)
"""


async def test_the_client_works_against_a_server(installed: Installed, harness: Harness) -> None:
    """The plain install's CLI and Python clients against a real server (run
    by the test's own environment)."""
    code, out = await _run(
        installed, installed.python, "-c", CLIENTS_SCRIPT,
        harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN,
    )  # fmt: skip
    assert code == 0, out
    call_sid, conference_sid, listed = out.split(" ", 2)
    assert listed.strip() == f"['{call_sid}']"
    connect = ["--target", harness.grpc_target, "--account-sid", ACCOUNT_SID]
    connect += ["--auth-token", AUTH_TOKEN]
    code, out = await _run(
        installed, installed.rollcall, "participants", *connect, "list", conference_sid
    )
    assert code == 0, out
    assert call_sid in out
    code, out = await _run(
        installed, installed.rollcall, "callbacks", "dead-letters", "list", *connect
    )
    assert code == 0, out
