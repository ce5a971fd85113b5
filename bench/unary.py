"""The unary gRPC figures: Fetch, Create and List against the bare grpc.aio server.

What it owns: the phases (Fetch at concurrency 1, 16 and 64; Create at 16 and
64; List, page of 50 from a 250-participant conference, at 16), running them
in interleaved rounds (each round: every phase, baseline then Rollcall) on
the persistent load generator, and turning the results into figures: req/s,
p50 and p99 latency, and server CPU-seconds per 1,000 RPCs. Also the log-level
figure: Fetch at 64 on a second Rollcall server at LOG_LEVEL=INFO, against
the first at WARNING.

The rule it keeps: a phase whose run had errors is reported with its error
count in the note, never silently averaged in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.budget import Budget
from bench.load import LoadWorker, spec_for
from bench.proc import ServerProcess
from bench.report import REPORTED, Figure, Goal
from bench.stats import median

SECTION = "gRPC unary"
BASELINE = "bare grpc.aio server answering the same-sized response from memory"


@dataclasses.dataclass(frozen=True)
class Phase:
    label: str
    method: str
    concurrency: int
    goal: Goal = REPORTED

    @property
    def name(self) -> str:
        return f"{self.label} c={self.concurrency}"


PHASES = (
    Phase("Fetch", "FetchParticipant", 1),
    Phase("Fetch", "FetchParticipant", 16),
    Phase("Fetch", "FetchParticipant", 64, Goal(">=", 0.85)),
    Phase("Create", "CreateParticipant", 16),
    Phase("Create", "CreateParticipant", 64, Goal(">=", 0.5)),
    Phase("List 50 of 250", "ListParticipants", 16, Goal(">=", 0.5)),
)

Log = Callable[[str], None]


def _requests(phase: Phase, fetches: list[bytes], pages: list[bytes]) -> list[bytes] | None:
    if phase.method == "FetchParticipant":
        return fetches
    if phase.method == "ListParticipants":
        return pages
    return None


def busy(results: list[dict[str, Any]], key: str) -> str:
    value = median([r[key] / r["seconds"] for r in results])
    return "-" if value is None else f"{value:.0%}"


def _figures(phase: Phase, base: list[dict[str, Any]], rc: list[dict[str, Any]]) -> list[Figure]:
    def series(results: list[dict[str, Any]], key: str) -> list[float | None]:
        return [r[key] for r in results]

    def cpu_per_1000(results: list[dict[str, Any]]) -> list[float | None]:
        return [r["server_cpu"] / r["requests"] * 1000 if r["requests"] else None for r in results]

    errors = sum(sum(r["errors"].values()) for r in rc)
    base_errors = sum(sum(r["errors"].values()) for r in base)
    note = (
        f"server CPU busy: Rollcall {busy(rc, 'server_cpu')},"
        f" baseline {busy(base, 'server_cpu')};"
        f" load generator busy: {busy(rc, 'client_cpu')} / {busy(base, 'client_cpu')}"
    )
    if errors or base_errors:
        first = next((r["first_error"] for r in rc + base if r["first_error"]), "")
        note += f"; ERRORS Rollcall {errors}, baseline {base_errors} (first: {first})"
    return [
        Figure(SECTION, f"{phase.name} req/s", "req/s", BASELINE,
               series(rc, "rps"), series(base, "rps"), phase.goal, note),
        Figure(SECTION, f"{phase.name} p50", "ms", BASELINE,
               series(rc, "p50_ms"), series(base, "p50_ms")),
        Figure(SECTION, f"{phase.name} p99", "ms", BASELINE,
               series(rc, "p99_ms"), series(base, "p99_ms")),
        Figure(SECTION, f"{phase.name} server CPU per 1,000 RPCs", "s", BASELINE,
               cpu_per_1000(rc), cpu_per_1000(base)),
    ]  # fmt: skip


def active_participants(database: Path) -> int:
    """Active participants stored in all conferences (read-only, beside the server)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM participants WHERE active = 1").fetchone()[0])


def run(
    worker: LoadWorker,
    rollcall: ServerProcess,
    baseline: ServerProcess,
    fetches: list[bytes],
    pages: list[bytes],
    budget: Budget,
    log: Log,
    database: Path,
) -> list[Figure]:
    results: dict[tuple[Phase, str], list[dict[str, Any]]] = {}
    active = [active_participants(database)]
    for round_no in range(1, budget.rounds + 1):
        for phase in PHASES:
            for side, server in (("baseline", baseline), ("rollcall", rollcall)):
                spec = spec_for(
                    server.target,
                    phase.method,
                    server_pid=server.pid,
                    concurrency=phase.concurrency,
                    duration=budget.duration,
                    warmup=budget.warmup,
                    requests=_requests(phase, fetches, pages),
                )
                result = worker.run(spec)
                results.setdefault((phase, side), []).append(result)
                log(
                    f"[{SECTION}] round {round_no}/{budget.rounds} {phase.name:<24}"
                    f" {side:<8} {result['rps']:8,.0f} req/s  p99 {result['p99_ms'] or 0:7.1f} ms"
                    + (f"  errors {result['errors']}" if result["errors"] else "")
                )
        active.append(active_participants(database))
    figures: list[Figure] = []
    for phase in PHASES:
        found = _figures(phase, results[(phase, "baseline")], results[(phase, "rollcall")])
        if phase.method != "FetchParticipant":
            # Creates leave ringing participants behind: say how many were live meanwhile.
            found[0].note += (
                "; active participants stored across all conferences, round by round: "
                + " -> ".join(f"{n:,}" for n in active)
            )
        figures += found
    return figures


def run_log_level(
    worker: LoadWorker,
    warning: ServerProcess,
    warning_fetches: list[bytes],
    info: ServerProcess,
    info_fetches: list[bytes],
    budget: Budget,
    log: Log,
) -> list[Figure]:
    """Fetch c=64 at LOG_LEVEL=INFO (one JSON line per RPC) against WARNING."""
    rounds: dict[str, list[dict[str, Any]]] = {"warning": [], "info": []}
    for round_no in range(1, budget.rounds + 1):
        for level, server, fetches in (
            ("warning", warning, warning_fetches),
            ("info", info, info_fetches),
        ):
            spec = spec_for(
                server.target,
                "FetchParticipant",
                server_pid=server.pid,
                concurrency=64,
                duration=budget.duration,
                warmup=budget.warmup,
                requests=fetches,
            )
            result = worker.run(spec)
            rounds[level].append(result)
            log(
                f"[log level] round {round_no}/{budget.rounds} Fetch c=64 {level:<8}"
                f" {result['rps']:8,.0f} req/s"
            )
    label = "Rollcall itself at ROLLCALL_LOG_LEVEL=WARNING"
    note = "INFO writes one JSON log line per RPC to stderr (a file in bench/results/run/)"
    info_rps = [r["rps"] for r in rounds["info"]]
    warning_rps = [r["rps"] for r in rounds["warning"]]
    info_cpu = [r["server_cpu"] / r["requests"] * 1000 for r in rounds["info"]]
    warning_cpu = [r["server_cpu"] / r["requests"] * 1000 for r in rounds["warning"]]
    return [
        Figure("log level", "Fetch c=64 req/s at INFO", "req/s", label,
               info_rps, warning_rps, note=note),
        Figure("log level", "Fetch c=64 server CPU per 1,000 RPCs at INFO", "s", label,
               info_cpu, warning_cpu),
    ]  # fmt: skip
