"""`python -m bench` (or ./bench/run): run every benchmark, print one table, write JSON.

Rule 1: this module owns the command line, the order of a run and its clean-up.
Rule 2: a run starts Rollcall (`rollcall serve`, gRPC and REST, on a fresh database)
        and builds its fixtures through the API, then starts the baselines with
        Rollcall's sample responses.
Rule 3: then it runs the sections (gRPC unary, log level, WatchConference, the floor
        (WatchAccount and its SSE), REST gateway, peer (Prism), cost growth, memory,
        PostgreSQL, soak), each figure in interleaved rounds of baseline then
        Rollcall.
Rule 4: it prints the table (figure, Rollcall's median, the baseline's median, the
        median per-round ratio, the goal, met) with the machine, the CPU plan and
        the settings, and writes it all as JSON to bench/results/latest.json and a
        timestamped copy beside it.
Rule 5: the default run takes about 12 minutes on 2 cores (the soaks 5 of them);
        --quick about 5; --full adds the 1M-stored-participants point (its database
        is built once, in a few minutes, and cached under bench/results/cache/).
        --only picks sections.
Rule 6: the exit status is 0 when every section ran (goals missed or not), 1 when a
        section failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import floor, growth, memory, peer, postgres, rest, soak, speaking, target, unary, watch
from bench import tracing as bench_tracing
from bench.baselines import start_baseline
from bench.budget import DEFAULT, FULL, QUICK, Budget
from bench.load import LoadWorker, spec_for
from bench.proc import MachineLoad, ServerProcess, pin_self, plan_cpus
from bench.report import Figure, baselines_legend, table, write_json

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = (
    "unary", "log", "tracing", "watch", "floor", "rest", "peer", "growth", "memory", "postgres",
    "speaking", "soak",
)  # fmt: skip


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("grpcio", "protobuf", "aiohttp", "aiosqlite", "uvloop"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    wrk = shutil.which("wrk")
    wrk_version = "absent"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout + out.stderr).split("Copyright")[0].strip()
    return {
        "nproc": str(os.cpu_count()),
        "usable_cpus": str(len(os.sched_getaffinity(0))),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version,
        **versions,
    }


def run(budget: Budget, sections: tuple[str, ...], keep: bool) -> int:
    plan = plan_cpus()
    pin_self(plan.load)
    run_dir = RESULTS / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    info = machine()
    meter = MachineLoad().start()
    started = time.monotonic()
    _log(f"bench: {budget.describe()}")
    _log(f"bench: {plan.describe()}")
    servers: list[ServerProcess] = []
    worker: LoadWorker | None = None
    figures: list[Figure] = []
    failures: list[str] = []

    def section(name: str, body: Callable[[], list[Figure]]) -> None:
        if name not in sections:
            return
        began = time.monotonic()
        try:
            figures.extend(body())
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"section {name} failed: {type(exc).__name__}: {exc}")
        _log(f"bench: section {name} took {time.monotonic() - began:.0f} s")

    try:
        rollcall = target.rollcall_server(
            "rollcall", run_dir / "rollcall.sqlite3", cpus=plan.server,
            log_path=run_dir / "rollcall.log", http=True,
        ).start()  # fmt: skip
        servers.append(rollcall)
        fixtures = target.build(rollcall.target, rollcall.ports[1], "main")
        samples = fixtures.save_samples(run_dir / "samples.json")
        base_grpc = start_baseline("grpc", samples, cpus=plan.server, run_dir=run_dir)
        servers.append(base_grpc)
        worker = LoadWorker()
        footprint: dict[int, dict[str, float]] = {}

        section(
            "unary",
            lambda: unary.run(
                worker, rollcall, base_grpc, fixtures.fetch_requests,
                fixtures.list_requests, budget, _log, run_dir / "rollcall.sqlite3",
            ),
        )  # fmt: skip

        def log_level() -> list[Figure]:
            info_server = target.rollcall_server(
                "rollcall-info", run_dir / "rollcall-info.sqlite3", cpus=plan.server,
                log_path=run_dir / "rollcall-info.log", log_level="INFO",
            ).start()  # fmt: skip
            servers.append(info_server)
            with target.channel(info_server.target) as stub:
                info_fetches = target.fetch_requests(stub, "info")
            try:
                return unary.run_log_level(
                    worker, rollcall, fixtures.fetch_requests, info_server, info_fetches,
                    budget, _log,
                )  # fmt: skip
            finally:
                info_server.stop()

        section("log", log_level)

        def tracing_off() -> list[Figure]:
            # Outside the repository: a second copy of the tree would confuse
            # the tools that scan it (mypy, pytest).
            with tempfile.TemporaryDirectory(prefix="rollcall-bench-base-") as source_dir:
                source = Path(source_dir)
                commit = bench_tracing.export(bench_tracing.base_ref(), source)
                # Both sides fresh and built alike (the main server's database
                # holds every other section's fixtures, which Creates would feel).
                now_server = target.rollcall_server(
                    "rollcall-tracing-off", run_dir / "rollcall-now.sqlite3",
                    cpus=plan.server, log_path=run_dir / "rollcall-now.log",
                ).start()  # fmt: skip
                servers.append(now_server)
                base_server = target.rollcall_server(
                    "rollcall-before-tracing", run_dir / "rollcall-base.sqlite3",
                    cpus=plan.server, log_path=run_dir / "rollcall-base.log", source=source,
                ).start()  # fmt: skip
                servers.append(base_server)
                with target.channel(now_server.target) as stub:
                    now_fetches = target.fetch_requests(stub, "now")
                with target.channel(base_server.target) as stub:
                    base_fetches = target.fetch_requests(stub, "base")
                try:
                    return bench_tracing.run(
                        worker, now_server, now_fetches, base_server, base_fetches,
                        commit, budget, _log,
                    )  # fmt: skip
                finally:
                    now_server.stop()
                    base_server.stop()

        section("tracing", tracing_off)

        section(
            "watch",
            lambda: watch.run_section(
                rollcall=rollcall, baseline=base_grpc, parent=fixtures.watch_parent,
                names=fixtures.watch_participants, budget=budget, run_dir=run_dir, log=_log,
            ),
        )  # fmt: skip

        section(
            "floor",
            lambda: floor.run_section(
                baseline=base_grpc, baseline_parent=fixtures.watch_parent,
                baseline_names=fixtures.watch_participants, server_cpus=plan.server,
                budget=budget, run_dir=run_dir, log=_log,
            ),
        )  # fmt: skip

        def rest_section() -> list[Figure]:
            base_http = start_baseline("http", samples, cpus=plan.server, run_dir=run_dir)
            servers.append(base_http)

            def grpc_create() -> dict[str, Any]:
                assert worker is not None
                spec = spec_for(rollcall.target, "CreateParticipant", server_pid=rollcall.pid,
                                concurrency=budget.rest_connections, duration=budget.duration,
                                warmup=budget.warmup)  # fmt: skip
                return worker.run(spec)

            try:
                return rest.run_section(
                    rollcall_url=f"http://127.0.0.1:{rollcall.ports[1]}",
                    rollcall_pid=rollcall.pid,
                    baseline_url=f"http://127.0.0.1:{base_http.port}",
                    baseline_pid=base_http.pid,
                    fetch_path=fixtures.rest_fetch_path,
                    budget=budget,
                    run_dir=run_dir,
                    log=_log,
                    grpc_create=grpc_create,
                )
            finally:
                base_http.stop()

        section("rest", rest_section)

        def peer_section() -> list[Figure]:
            if not peer.available():
                failures.append(f"section peer skipped: no {peer.PRISM}")
                return []
            return peer.run_section(
                rollcall_url=f"http://127.0.0.1:{rollcall.ports[1]}",
                rollcall_pid=rollcall.pid,
                fetch_path=fixtures.rest_fetch_path,
                server_cpus=list(plan.server),
                budget=budget,
                run_dir=run_dir,
                log=_log,
            )

        section("peer", peer_section)

        def growth_section() -> list[Figure]:
            assert worker is not None
            found, sizes = growth.run_section(
                worker=worker, server_cpus=plan.server, budget=budget, run_dir=run_dir,
                cache_dir=RESULTS / "cache", log=_log,
            )  # fmt: skip
            footprint.update(sizes)
            return found

        section("growth", growth_section)

        def memory_section() -> list[Figure]:
            idle = memory.measure_idle_watchers(
                server_cpus=plan.server, samples=samples, watchers=max(budget.watchers),
                run_dir=run_dir, log=_log,
            )  # fmt: skip
            return memory.figures(idle, footprint)

        section("memory", memory_section)

        def postgres_section() -> list[Figure]:
            assert worker is not None
            return postgres.run_section(
                worker=worker, sqlite=rollcall, sqlite_fetches=fixtures.fetch_requests,
                sqlite_watch=(fixtures.watch_parent, fixtures.watch_participants),
                server_cpus=plan.server, budget=budget, run_dir=run_dir, log=_log,
            )  # fmt: skip

        section("postgres", postgres_section)
        section(
            "speaking",
            lambda: speaking.run_section(
                seconds=max(budget.duration, 3.0), rounds=budget.rounds, run_dir=run_dir, log=_log
            ),
        )
        section(
            "soak",
            lambda: [
                figure
                for store in ("sqlite", "postgres")
                for figure in soak.run_section(
                    server_cpus=plan.server,
                    seconds=budget.soak_seconds,
                    run_dir=run_dir,
                    log=_log,
                    store=store,
                )
            ],
        )
        for server in servers:
            if server.proc is not None and not server.alive():
                failures.append(f"{server.name} exited during the run (see its log in {run_dir})")
    finally:
        if worker is not None:
            worker.close()
        for server in servers:
            server.stop()
        if not keep:
            for leftover in run_dir.glob("growth-*.sqlite3*"):
                leftover.unlink()

    elapsed = time.monotonic() - started
    load = meter.stop()
    notes = [
        f"machine load during the run: 1-minute load average {load['loadavg_1m_min']}"
        f" to {load['loadavg_1m_max']} (median {load['loadavg_1m_median']}) on"
        f" {load['cpus']} CPUs; the benchmark itself accounts for about 2-3 (see"
        " bench/README.md); each figure's own reading is its `load` in the JSON",
        f"machine: {info['nproc']} CPUs ({info['cpu_model']}), Python {info['python']},"
        f" grpcio {info['grpcio']}, aiohttp {info['aiohttp']}, uvloop {info['uvloop']},"
        f" wrk {info['wrk']}",
        f"cores: {plan.describe()}",
        budget.describe(),
        "values are medians over rounds; Ratio is the median of per-round Rollcall/baseline"
        " ratios (for latency and CPU, higher means Rollcall is slower)",
        target.SETTINGS_NOTE,
        "REST load generator: "
        + (
            "wrk (1 thread)"
            if rest.generator() == "wrk"
            else "wrk is not installed: a Python aiohttp load generator ran instead"
        ),
        "WatchConference latency = receipt time.time() - the event's `time` (stamped by the"
        " server's clock at the change); 20 changes/s are sent open-loop (UpdateParticipant"
        " toggling `muted` on 10 participants)",
        "cost growth: stored participants are ended ones in completed conferences of"
        f" {growth.PER_CONFERENCE}; Fetch reads random stored ones (include_ended); Create adds"
        " new ones. 1M is measured only with --full (building it takes minutes the first time;"
        " it is cached under bench/results/cache/)",
        *baselines_legend(figures),
        *[f"missing: {f}" for f in failures],
        f"run took {elapsed:.0f} s",
    ]
    print()
    print(table(figures))
    print()
    for note in notes:
        print(f"* {note}")
    for f in figures:
        if f.note:
            print(f"* {f.section} / {f.name}: {f.note}")
    latest, stamped = write_json(
        RESULTS,
        figures,
        {"machine": info, "load": load, "mode": budget.mode, "notes": notes, "seconds": elapsed},
    )
    print(f"\nJSON: {latest} (and {stamped.name}); commit latest.json to keep it")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short windows (~2.5 minutes)")
    mode.add_argument("--full", action="store_true", help="add 1M stored participants")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument("--keep", action="store_true", help="keep bench/results/run/ databases")
    parser.add_argument(
        "--floor-conferences", type=int, metavar="N", help="live conferences of the floor figures"
    )
    parser.add_argument(
        "--floor-watchers", type=int, metavar="N", help="account watchers and SSE clients"
    )
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL if args.full else DEFAULT
    if args.floor_conferences:
        budget = dataclasses.replace(budget, floor_conferences=args.floor_conferences)
    if args.floor_watchers:
        budget = dataclasses.replace(budget, floor_watchers=args.floor_watchers)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return run(budget, sections, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
