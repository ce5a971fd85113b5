"""The cost of tracing while it is off: Rollcall against itself before tracing.

Rule 1: the figures are Fetch and Create at concurrency 64 on this Rollcall (tracing
        off, the default: no OTEL_TRACES_EXPORTER) against the same load on a second
        Rollcall server run from the files of the commit before service/tracing.py
        was added (or BENCH_TRACING_BASE, any git ref), exported with `git archive`:
        what the hooks cost when nobody traces.
Rule 2: both servers serve the same fixtures shape and run in interleaved rounds on
        the same pinned CPU.
Rule 3: the ratio is this tree's over the base's, so ~1.0 means no measurable cost.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.budget import Budget
from bench.load import LoadWorker, spec_for
from bench.proc import REPO, ServerProcess
from bench.report import Figure, Goal

SECTION = "tracing off"
PHASES = (("Fetch", "FetchParticipant"), ("Create", "CreateParticipant"))

Log = Callable[[str], None]


def base_ref() -> str:
    """The ref to compare with: the setting, else the parent of the commit
    that added service/tracing.py."""
    given = os.environ.get("BENCH_TRACING_BASE")
    if given:
        return given
    added = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", "service/tracing.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not added:
        raise RuntimeError("service/tracing.py is not in git history: commit it first")
    return added[-1] + "^"


def export(ref: str, into: Path) -> str:
    """The files of `ref` under `into`; returns the commit it named."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "archive", commit], cwd=REPO, stdout=archive, check=True)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(into, filter="data")
    return commit


def run(
    worker: LoadWorker,
    rollcall: ServerProcess,
    fetches: list[bytes],
    base: ServerProcess,
    base_fetches: list[bytes],
    base_commit: str,
    budget: Budget,
    log: Log,
) -> list[Figure]:
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for round_no in range(1, budget.rounds + 1):
        for label, method in PHASES:
            for side, server, requests in (
                ("base", base, base_fetches),
                ("rollcall", rollcall, fetches),
            ):
                spec = spec_for(
                    server.target,
                    method,
                    server_pid=server.pid,
                    concurrency=64,
                    duration=budget.duration,
                    warmup=budget.warmup,
                    requests=requests if method == "FetchParticipant" else None,
                )
                result = worker.run(spec)
                rounds.setdefault((label, side), []).append(result)
                log(
                    f"[{SECTION}] round {round_no}/{budget.rounds} {label} c=64 {side:<8}"
                    f" {result['rps']:8,.0f} req/s"
                )
    baseline = f"Rollcall at {base_commit}, before tracing"
    note = "this tree with tracing off (no OTEL_TRACES_EXPORTER); ~1.0 = no measurable cost"
    figures = []
    for label, _ in PHASES:
        mine, theirs = rounds[(label, "rollcall")], rounds[(label, "base")]
        figures += [
            Figure(SECTION, f"{label} c=64 req/s", "req/s", baseline,
                   [r["rps"] for r in mine], [r["rps"] for r in theirs],
                   goal=Goal(">=", 0.95), note=note),
            Figure(SECTION, f"{label} c=64 server CPU per 1,000 RPCs", "s", baseline,
                   [r["server_cpu"] / r["requests"] * 1000 for r in mine],
                   [r["server_cpu"] / r["requests"] * 1000 for r in theirs],
                   goal=Goal("<=", 1.05)),
        ]  # fmt: skip
    return figures
