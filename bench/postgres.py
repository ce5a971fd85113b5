"""PostgreSQL figures: the store against SQLite, and watch across replicas.

Rule 1: a throwaway PostgreSQL server (durable: fsync on, like SQLite's
        synchronous=FULL) is started for the section, with two `rollcall serve`
        replicas on it.
Rule 2: Create and Fetch at c=64 on a PostgreSQL replica are measured against the
        SQLite server of the same run (goal: >= 0.7x).
Rule 3: WatchConference delivery with the writer on one replica and 100 watchers on
        the other is measured against the SQLite single server with writer and
        watchers on it (goal: p99 <= 2x); WatchAccount the same way, 100 account
        watchers on the other replica against 100 on the writer's (goal: p99 <= 2x).
Rule 4: both sides of every ratio are measured in the same run, interleaved round
        by round.
Rule 5: PostgreSQL's own processes run on the load CPUs (where a separate database
        machine would be), which the note says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import floor, target, watch
from bench.budget import Budget
from bench.load import LoadWorker, spec_for
from bench.proc import ServerProcess
from bench.report import Figure, Goal
from bench.stats import median
from bench.unary import busy

SECTION = "PostgreSQL"
BASELINE = "the same on the SQLite server of this run (one process)"
WATCH_BASELINE = "single SQLite server, writer and watchers on it (this run)"
PHASES = (("Fetch", "FetchParticipant"), ("Create", "CreateParticipant"))
CONCURRENCY = 64
WATCHERS = 100


def run_section(
    *,
    worker: LoadWorker,
    sqlite: ServerProcess,
    sqlite_fetches: list[bytes],
    sqlite_watch: tuple[str, list[str]],
    server_cpus: tuple[int, ...],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    from tests.pg import PostgresServer  # the test suite's throwaway server

    database = PostgresServer(durable=True)
    replicas: list[ServerProcess] = []
    try:
        dsn = database.create_database("bench")
        for name in ("rollcall-pg-a", "rollcall-pg-b"):
            replica = target.rollcall_server(
                name, dsn, cpus=server_cpus, log_path=run_dir / f"{name}.log"
            )
            replica.env["ROLLCALL_REPLICA_ID"] = name
            replicas.append(replica.start())
        a, b = replicas
        fixtures = target.build(a.target, None, "pg")
        figures = _unary(worker, sqlite, sqlite_fetches, a, fixtures.fetch_requests, budget, log)
        figures += _watch(
            sqlite, sqlite_watch, a, b, (fixtures.watch_parent, fixtures.watch_participants),
            budget, run_dir, log,
        )  # fmt: skip
        figures += _account_watch(
            a, b, fixtures.watch_parent, fixtures.watch_participants, budget, run_dir, log
        )
        return figures
    finally:
        for replica in replicas:
            replica.stop()
        database.close()


def _unary(
    worker: LoadWorker,
    sqlite: ServerProcess,
    sqlite_fetches: list[bytes],
    pg: ServerProcess,
    pg_fetches: list[bytes],
    budget: Budget,
    log: Callable[[str], None],
) -> list[Figure]:
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for round_no in range(1, budget.rounds + 1):
        for label, method in PHASES:
            for side, server, fetches in (
                ("sqlite", sqlite, sqlite_fetches),
                ("pg", pg, pg_fetches),
            ):
                spec = spec_for(
                    server.target, method, server_pid=server.pid, concurrency=CONCURRENCY,
                    duration=budget.duration, warmup=budget.warmup,
                    requests=fetches if method == "FetchParticipant" else None,
                )  # fmt: skip
                result = worker.run(spec)
                results.setdefault((label, side), []).append(result)
                log(
                    f"[{SECTION}] round {round_no}/{budget.rounds} {label} c={CONCURRENCY}"
                    f" {side:<6} {result['rps']:8,.0f} req/s  p99 {result['p99_ms'] or 0:7.1f} ms"
                    f"  server CPU {result['server_cpu'] / result['seconds']:.0%}"
                    + (f"  errors {result['errors']}" if result["errors"] else "")
                )
    figures: list[Figure] = []
    for label, _ in PHASES:
        pg_runs, lite = results[(label, "pg")], results[(label, "sqlite")]
        errors = sum(sum(r["errors"].values()) for r in pg_runs + lite)
        note = (
            "PostgreSQL (fsync on) runs on the load CPUs; the Rollcall replica on the server CPU"
            f" (busy: {busy(pg_runs, 'server_cpu')} on PostgreSQL,"
            f" {busy(lite, 'server_cpu')} on SQLite)"
        )
        if errors:
            note += f"; ERRORS {errors}"
        name = f"{label} c={CONCURRENCY} on PostgreSQL"
        figures += [
            Figure(SECTION, f"{name} req/s", "req/s", BASELINE,
                   [r["rps"] for r in pg_runs], [r["rps"] for r in lite],
                   Goal(">=", 0.9 if label == "Create" else 0.7), note),
            Figure(SECTION, f"{name} p99", "ms", BASELINE,
                   [r["p99_ms"] for r in pg_runs], [r["p99_ms"] for r in lite]),
        ]  # fmt: skip
    return figures


def _watch(
    sqlite: ServerProcess,
    sqlite_watch: tuple[str, list[str]],
    writer: ServerProcess,
    watched: ServerProcess,
    pg_watch: tuple[str, list[str]],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    rounds: dict[str, list[dict[str, Any]]] = {"sqlite": [], "pg": []}
    for round_no in range(1, budget.watch_rounds + 1):
        for side in ("sqlite", "pg"):
            if side == "sqlite":
                where, (parent, names), writer_target = sqlite, sqlite_watch, None
            else:
                where, (parent, names), writer_target = watched, pg_watch, writer.target
            result = watch.watch_round(
                target=where.target, server_pid=where.pid, parent=parent, names=names,
                watchers=WATCHERS, rate=watch.RATE, duration=budget.watch_duration,
                drain=30.0, run_dir=run_dir, writer_target=writer_target,
            )  # fmt: skip
            rounds[side].append(result)
            log(
                f"[{SECTION}] round {round_no}/{budget.watch_rounds} {WATCHERS} watchers"
                f" {side:<6} p50 {result['p50_ms'] or 0:7.1f} ms p99 {result['p99_ms'] or 0:7.1f}"
                f" ms lost {result['lost']}"
            )
    pg_runs, lite = rounds["pg"], rounds["sqlite"]
    note = (
        f"writer on replica a, {WATCHERS} watchers on replica b (woken by LISTEN/NOTIFY);"
        f" answered/s {median([r['answered_per_second'] for r in pg_runs]):.1f} against"
        f" {median([r['answered_per_second'] for r in lite]):.1f}"
    )
    what = f"{WATCHERS} watchers, writer on another replica"
    return [
        Figure(SECTION, f"{what}: delivery p50", "ms", WATCH_BASELINE,
               [r["p50_ms"] for r in pg_runs], [r["p50_ms"] for r in lite]),
        Figure(SECTION, f"{what}: delivery p99", "ms", WATCH_BASELINE,
               [r["p99_ms"] for r in pg_runs], [r["p99_ms"] for r in lite], Goal("<=", 2.0), note),
        Figure(SECTION, f"{what}: events lost", "events", WATCH_BASELINE,
               [r["lost"] for r in pg_runs], [r["lost"] for r in lite], Goal("zero"),
               combine="sum"),
    ]  # fmt: skip


ACCOUNT_BASELINE = "the same account watchers on the writer's replica (this run)"


def _account_watch(
    a: ServerProcess,
    b: ServerProcess,
    parent: str,
    names: list[str],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    """WatchAccount across replicas: watchers on b of writes on a, against
    watchers on a itself (issue 22 item 6: p99 <= 2x)."""
    rounds: dict[str, list[dict[str, Any]]] = {"single": [], "across": []}
    for round_no in range(1, budget.watch_rounds + 1):
        for side, watched in (("single", a), ("across", b)):
            result = floor.floor_round(
                mode="account", server=watched, parent=parent, names=names, watchers=WATCHERS,
                duration=budget.watch_duration, run_dir=run_dir, writer=a,
            )  # fmt: skip
            rounds[side].append(result)
            log(
                f"[{SECTION}] round {round_no}/{budget.watch_rounds} {WATCHERS} account watchers"
                f" {side:<6} p50 {result['p50_ms'] or 0:7.1f} ms p99 {result['p99_ms'] or 0:7.1f}"
                f" ms lost {result['lost']}"
            )
    across, single = rounds["across"], rounds["single"]
    what = f"{WATCHERS} account watchers, writer on another replica"
    note = (
        f"WatchAccount on replica b of writes on replica a (woken by LISTEN/NOTIFY), against"
        f" the same on a; answered/s {median([r['answered_per_second'] for r in across]):.1f}"
    )
    return [
        Figure(SECTION, f"{what}: delivery p50", "ms", ACCOUNT_BASELINE,
               [r["p50_ms"] for r in across], [r["p50_ms"] for r in single]),
        Figure(SECTION, f"{what}: delivery p99", "ms", ACCOUNT_BASELINE,
               [r["p99_ms"] for r in across], [r["p99_ms"] for r in single], Goal("<=", 2.0),
               note),
        Figure(SECTION, f"{what}: events lost", "events", ACCOUNT_BASELINE,
               [r["lost"] for r in across], [r["lost"] for r in single], Goal("zero"),
               combine="sum"),
    ]  # fmt: skip
