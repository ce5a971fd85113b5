"""The documentation stays true: its commands run, its links resolve, its settings exist.

Rule 1: every fenced block has a language, and every command block (sh, bash,
        shell, console, python, py) carries one marker after it:
        `test` runs it against the docs server and expects exit status 0;
        `test-server` is a command that starts a server: it runs alone with
        the listen addresses set to port 0, a scratch database and the docs
        server's demo account SID, its banner is awaited, then it gets SIGTERM;
        `no-test: REASON` is shown only (a cluster, an image build, a real
        Twilio account); the reason is required and each such block is
        reported as a skip naming it, so none goes unseen.
Rule 2: `test` blocks see the server the way a reader does after the quick
        start: ROLLCALL_TARGET, ROLLCALL_ACCOUNT_SID and ROLLCALL_AUTH_TOKEN
        (the demo account, read from the banner) and ROLLCALL_DATABASE (its
        SQLite file) in the environment, the `rollcall` command and `python`
        first on PATH, and the documented default addresses (127.0.0.1:50051,
        127.0.0.1:8080, 127.0.0.1:9464) rewritten to the server's real ports. Shell blocks run with
        `bash -euo pipefail` from the repository root; Python blocks run as a
        script in a fresh interpreter from a scratch directory.
Rule 3: the docs server is `rollcall serve` on SQLite with the simulated
        carrier and its defaults, except: ephemeral ports, a fixed demo
        account SID, the API key docs/security.md configures, the outcomes
        docs/carriers.md configures, and no call pacing. Blocks run in file
        order, each file's blocks in the order they appear.
Rule 4: every relative link between the documents resolves to a file, and an
        `#anchor` to a heading of it; no document links outside the repository.
Rule 5: docs/operations.md lists every setting of service/config.py, with its
        default, and no document names a ROLLCALL_ variable that does not exist.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.cli_connection import CONNECTION_ENV
from service import config
from tests import pg
from tests.e2e.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
# The examples are run once, on SQLite (their backup example reads the file);
# the PostgreSQL pass of the end-to-end suite has nothing to add to them.
pytestmark = pytest.mark.skipif(
    pg.test_store() == "postgres", reason="the documentation is run in the SQLite pass"
)
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "deploy" / "README.md",
        ROOT / "bench" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
COMMAND_LANGUAGES = {"sh", "bash", "shell", "console", "python", "py"}
PYTHON = {"python", "py"}

# The docs server's own configuration (Rule 3): what the documents configure.
DEMO_ACCOUNT_SID = "AC" + "d0c5" * 8
# security.md
EXAMPLE_API_KEY = ("SK0123456789abcdef0123456789abcdef", "example-key-secret-0123456789abcdef")
EXAMPLE_OUTCOMES = (  # carriers.md
    "+15551230001=busy,+15551230002=no-answer,+15551230003=failed,"
    "+15551230004=hangup:30,+15551230005=answer:8"
)
DEFAULT_ADDRESSES = {
    "grpc": "127.0.0.1:50051",
    "http": "127.0.0.1:8080",
    "metrics": "127.0.0.1:9464",
}
_DEMO_LINE = re.compile(
    r"demo account (AC[0-9a-f]{32}) auth token ([0-9a-f]{32}) \(shown only now\)"
)

# Variables the documents may name that are not settings of `rollcall serve`:
# the client's connection variables, and the test suite's own switches.
CLIENT_VARIABLES = {
    "ROLLCALL_TARGET",
    "ROLLCALL_ACCOUNT_SID",
    "ROLLCALL_AUTH_TOKEN",
    "ROLLCALL_API_KEY",
    "ROLLCALL_API_SECRET",
    "ROLLCALL_TLS",
    "ROLLCALL_TEST_POSTGRES",
    "ROLLCALL_TEST_STORE",
} | {name for names in CONNECTION_ENV.values() for name in names if name.startswith("ROLLCALL_")}
# A setting renamed on a branch still landing: its new name may be documented
# already, beside the old one. Remove an entry once config.py has the new name.


@dataclasses.dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    marker: str  # "test", "test-server", "no-test" or "" (a block that is not a command)
    reason: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            line = lines[end]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            end += 1
        language, _, rest = info.partition(" ")
        marker, _, reason = rest.strip().partition(":")
        yield Block(path, index + 1, language, marker.strip(), reason.strip(), "\n".join(body))
        index = end + 1


ALL_BLOCKS = [block for path in DOCUMENTS for block in blocks(path)]
COMMANDS = [b for b in ALL_BLOCKS if b.language in COMMAND_LANGUAGES]
RUN = [b for b in COMMANDS if b.marker == "test"]
SERVERS = [b for b in COMMANDS if b.marker == "test-server"]
NOT_RUN = [b for b in COMMANDS if b.marker == "no-test"]


def test_the_documents_exist() -> None:
    for path in DOCUMENTS:
        assert path.is_file(), path
    assert len(DOCUMENTS) >= 12


def test_every_block_has_a_language_and_every_command_a_marker() -> None:
    unlabeled = [b.where for b in ALL_BLOCKS if not b.language]
    assert unlabeled == [], "give every fenced block a language (text for output)"
    unmarked = [
        f"{b.where} ```{b.language} {b.marker}"
        for b in COMMANDS
        if b.marker not in ("test", "test-server", "no-test")
    ]
    assert unmarked == [], "mark every command block test, test-server or no-test: REASON"
    stray = [b.where for b in ALL_BLOCKS if b.language not in COMMAND_LANGUAGES and b.marker]
    assert stray == [], "only command blocks carry a marker"
    assert len(COMMANDS) == len(RUN) + len(SERVERS) + len(NOT_RUN)


def test_the_docs_server_is_configured_as_the_documents_say() -> None:
    key_sid, key_secret = EXAMPLE_API_KEY
    assert f"{key_sid}:{key_secret}:" in (ROOT / "docs" / "security.md").read_text()
    assert EXAMPLE_OUTCOMES in (ROOT / "docs" / "carriers.md").read_text()


def _clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROLLCALL_", "TWILIO_"))}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.pop("VIRTUAL_ENV", None)
    return env


@dataclasses.dataclass
class DocsServer:
    process: ServerProcess
    account_sid: str
    auth_token: str
    database: Path

    @property
    def addresses(self) -> dict[str, str]:
        p = self.process
        return {
            "grpc": f"127.0.0.1:{p.port}",
            "http": f"127.0.0.1:{p.http_port}",
            "metrics": f"127.0.0.1:{p.metrics_port}",
        }

    def rewrite(self, text: str) -> str:
        for kind, default in DEFAULT_ADDRESSES.items():
            text = text.replace(default, self.addresses[kind])
        return text

    def environment(self) -> dict[str, str]:
        return {
            **_clean_environment(),
            "ROLLCALL_TARGET": self.addresses["grpc"],
            "ROLLCALL_ACCOUNT_SID": self.account_sid,
            "ROLLCALL_AUTH_TOKEN": self.auth_token,
            "ROLLCALL_DATABASE": str(self.database),
        }


@pytest.fixture(scope="module")
def docs_server() -> Iterator[DocsServer]:
    with tempfile.TemporaryDirectory(prefix="rollcall-docs-") as scratch:
        process = ServerProcess(
            Path(scratch) / "docs.sqlite3",
            ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
            ROLLCALL_ACCOUNTS="",
            ROLLCALL_DEMO_ACCOUNT_SID=DEMO_ACCOUNT_SID,
            ROLLCALL_API_KEYS=f"{EXAMPLE_API_KEY[0]}:{EXAMPLE_API_KEY[1]}:{DEMO_ACCOUNT_SID}",
            ROLLCALL_SIM_OUTCOMES=EXAMPLE_OUTCOMES,
        )
        process.log = Path(scratch) / "server.log"
        try:
            process.start()
            assert process.proc is not None and process.proc.stdout is not None
            banner = process.proc.stdout.readline()  # printed with the first line
            found = _DEMO_LINE.search(banner)
            assert found, f"the banner shows the demo account and its token: {banner!r}"
            assert found[1] == DEMO_ACCOUNT_SID
            yield DocsServer(process, found[1], found[2], Path(scratch) / "docs.sqlite3")
            assert process.terminate() == 0
        finally:
            process.close()


def _failure(block: Block, done: subprocess.CompletedProcess[str], text: str) -> str:
    return (
        f"{block.where} exited {done.returncode}\n--- ran\n{text}\n"
        f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("block", RUN, ids=[b.where for b in RUN])
def test_block_runs(block: Block, docs_server: DocsServer, tmp_path: Path) -> None:
    text = docs_server.rewrite(block.text)
    env = docs_server.environment()
    if block.language in PYTHON:
        script = tmp_path / "block.py"
        script.write_text(text + "\n", encoding="utf-8")
        argv = [sys.executable, str(script)]
        cwd = tmp_path
    else:
        argv = ["bash", "-euo", "pipefail", "-c", text]
        cwd = ROOT
    done = subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, _failure(block, done, text)


@pytest.mark.slow
@pytest.mark.parametrize("block", SERVERS, ids=[b.where for b in SERVERS])
def test_server_block_starts(block: Block, docs_server: DocsServer, tmp_path: Path) -> None:
    env = {
        **_clean_environment(),
        "ROLLCALL_ACCOUNT_SID": docs_server.account_sid,
        # A reader restarting ./scripts/serve keeps the demo account of its
        # database; a scratch database gets the same one by configuration.
        "ROLLCALL_DEMO_ACCOUNT_SID": docs_server.account_sid,
        "ROLLCALL_DATABASE": str(tmp_path / "rollcall.sqlite3"),
        "ROLLCALL_GRPC_LISTEN": "127.0.0.1:0",
        "ROLLCALL_HTTP_LISTEN": "127.0.0.1:0",
        "ROLLCALL_METRICS_LISTEN": "127.0.0.1:0",
    }
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", block.text],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,  # its own process group: SIGTERM reaches the server
    )
    log.close()
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:  # blocks until the banner, or until the block exits
            seen.append(line)
            if line.startswith("rollcall: gRPC on"):
                break
        started = bool(seen) and seen[-1].startswith("rollcall: gRPC on")
        if started:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)  # until the server has exited and closed its stdout
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    log_text = (tmp_path / "server.log").read_text()
    assert started, f"{block.where} printed no banner: {seen}\n{log_text[-4000:]}"
    # bash itself may die of the SIGTERM before the server has finished: either is a clean stop.
    assert proc.returncode in (0, -signal.SIGTERM), (proc.returncode, log_text[-4000:])


@pytest.mark.parametrize("block", NOT_RUN, ids=[b.where for b in NOT_RUN])
def test_block_not_run(block: Block) -> None:
    assert block.reason, f"{block.where}: say why it is not run (no-test: REASON)"
    pytest.skip(f"{block.where} not run: {block.reason}")


# -- links -----------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _prose(path: Path) -> str:
    """The document without its fenced blocks (their text is not markdown)."""
    out: list[str] = []
    fence = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        opening = _FENCE.match(line)
        if opening and (not fence or line.strip().startswith(fence)):
            fence = "" if fence else opening["fence"]
            continue
        if not fence:
            out.append(line)
    return "\n".join(out)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens,
    repeats numbered."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in _prose(path).splitlines():
        heading = _HEADING.match(line)
        if not heading:
            continue
        text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading[1]).lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def _links() -> list[tuple[Path, str]]:
    return [(path, m[1]) for path in DOCUMENTS for m in _LINK.finditer(_prose(path))]


def test_links_resolve() -> None:
    broken: list[str] = []
    for path, target in _links():
        where = f"{path.relative_to(ROOT)} -> {target}"
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            broken.append(f"{where}: links outside the repository are not allowed")
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{where}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(f"{where}: no such heading")
    assert broken == []


def test_the_readme_links_every_document() -> None:
    readme = ROOT / "README.md"
    linked = {(readme.parent / t.partition("#")[0]).resolve() for p, t in _links() if p == readme}
    missing = [str(p.relative_to(ROOT)) for p in DOCUMENTS if p != readme and p not in linked]
    assert missing == []


def test_the_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200


# -- settings --------------------------------------------------------------

_ROW = re.compile(r"^\|\s*`(ROLLCALL_[A-Z0-9_]+)`[^|]*\|\s*([^|]*)\|")


def _default_text(value: object) -> str:
    return "''" if value == "" else str(value)


def _same(documented: str, value: object) -> bool:
    shown = re.match(r"`([^`]*)`", documented.strip())
    if shown is None:
        return False
    text = shown[1]
    if isinstance(value, bool | str):
        return text == _default_text(value)
    try:
        return float(text.replace(",", "").replace("_", "")) == float(value)  # type: ignore[arg-type]
    except ValueError:
        return False


def test_operations_lists_every_setting_with_its_default() -> None:
    rows = {
        m[1]: m[2]
        for line in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").splitlines()
        if (m := _ROW.match(line))
    }
    problems: list[str] = []
    names: set[str] = set()
    for field in dataclasses.fields(config.Settings):
        name = config.env_name(field.name)
        names.add(name)
        if name not in rows:
            problems.append(f"{name}: not in the settings table")
        elif not _same(rows[name], field.default):
            problems.append(
                f"{name}: documented default {rows[name].strip()!r}, is {field.default!r}"
            )
    problems += [f"{name}: no such setting" for name in rows if name not in names]
    assert problems == []


def test_every_variable_named_exists() -> None:
    known = {config.env_name(f.name) for f in dataclasses.fields(config.Settings)}
    known |= {config.env_name(old) for old in getattr(config, "ALIASES", {})}
    known |= CLIENT_VARIABLES
    unknown = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in DOCUMENTS
        for name in set(re.findall(r"\bROLLCALL_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
        if name not in known
    )
    assert unknown == []
