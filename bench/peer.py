"""The peer figure: the same wrk Fetch and Create load against Prism, beside Rollcall.

Rule 1: Prism (npm `@stoplight/prism-cli`, `prism mock`, the mock server Twilio's
        docs point users to) runs on Twilio's participants spec
        (tests/gateway/participants.openapi.json), pinned to the server CPUs like
        every server under test, at log level warn (Rollcall runs at WARNING).
Rule 2: it is driven with bench/rest.py's generator in rounds interleaved with
        Rollcall's; the figures are Rollcall's req/s and p99 with Prism's as the
        baseline column.
Rule 3: the comparison says what it compares. Rollcall stores every Create durably
        (SQLite, synchronous=FULL) before it answers and a Fetch reads the stored
        participant; Prism is neither stateful nor durable (it validates the request
        against the spec and answers the spec's example), so the figures are
        reported, never judged against a goal.
Rule 4: bench/run installs Prism into node_modules when it is missing; without it
        this section is skipped with a note.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bench import rest
from bench.budget import Budget
from bench.proc import REPO, pinned
from bench.report import Figure

SECTION = "peer: Prism mock"
PRISM = REPO / "node_modules" / ".bin" / "prism"
SPEC = REPO / "tests" / "gateway" / "participants.openapi.json"
BASELINE = (
    "Prism 5 (`prism mock` of Twilio's participants spec): stateless, not durable;"
    " Rollcall is stateful and durable (every Create is committed with synchronous=FULL"
    " before it answers), so these rows are a peer comparison, not a goal"
)


def available() -> bool:
    return PRISM.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prism:
    """`prism mock` in its own pinned process."""

    def __init__(self, cpus: list[int], log_path: Path) -> None:
        self.port = _free_port()
        argv = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(self.port), "-v", "warn"]
        with open(log_path, "a") as log:
            self.proc = subprocess.Popen(
                pinned(cpus, [*argv, str(SPEC)]),
                cwd=REPO,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, probe_path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prism exited with status {self.proc.returncode}")
            try:
                urllib.request.urlopen(self.url + probe_path, timeout=2).close()  # noqa: S310
                return
            except urllib.error.HTTPError:
                return  # it answered (401 without credentials is an answer)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"prism did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def run_section(
    *,
    rollcall_url: str,
    rollcall_pid: int,
    fetch_path: str,
    server_cpus: list[int],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    prism = Prism(server_cpus, run_dir / "prism.log")
    try:
        prism.wait_ready(fetch_path)
        sides = (("prism", prism.url, prism.pid), ("rollcall", rollcall_url, rollcall_pid))
        c = budget.rest_connections
        figures: list[Figure] = []
        for operation in ("create", "fetch"):
            rounds = rest.interleaved_rounds(
                SECTION, sides, operation, fetch_path=fetch_path, budget=budget,
                run_dir=run_dir, log=log,
            )  # fmt: skip
            rc, peer = rounds["rollcall"], rounds["prism"]
            name = f"{operation.capitalize()} c={c} ({rest.generator()}) vs Prism"
            errors = sum(r["errors"] for r in peer)
            note = f"non-2xx or socket errors: Prism {errors}" if errors else ""
            figures += [
                Figure(SECTION, f"{name} req/s", "req/s", BASELINE,
                       [r["rps"] for r in rc], [r["rps"] for r in peer], note=note),
                Figure(SECTION, f"{name} p99", "ms", BASELINE,
                       [r["p99_ms"] for r in rc], [r["p99_ms"] for r in peer]),
                Figure(SECTION, f"{name} server CPU per 1,000 requests", "s", BASELINE,
                       [r["server_cpu"] / max(r["requests"], 1) * 1000 for r in rc],
                       [r["server_cpu"] / max(r["requests"], 1) * 1000 for r in peer]),
            ]  # fmt: skip
        return figures
    finally:
        prism.stop()
