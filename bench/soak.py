"""Soak: a steady mixed load with short retention windows; the database stops growing.

Rule 1: one Rollcall server (SQLite, its own database) runs with every retention
        window at WINDOW seconds, passes every PASS_EVERY seconds and a short event
        retention (so compaction has work on long-lived conferences).
Rule 2: the load is paced and open-loop: conference lifecycles of seven writes
        each (bench.soak_load).
Rule 3: it reads the database's size every SAMPLE_EVERY seconds (file plus WAL, and
        the pages in use: page_count - freelist_count), and every write's latency,
        tagged by whether a retention pass or a compaction ran in its moment (the
        server's rollcall_maintenance_* metrics, bench.soak_readings).
Rule 4: the figures: the size at the end against the size one window after the load
        began (goal: at most 1.1x, a plateau); bytes per live participant and per
        ended participant (kept, with its conference and log); write p99 in moments
        with a retention pass, and with a compaction, against moments with neither
        (goal: at most 1.2x), the plateau cut into three rounds.
Rule 5: it is bounded in time and count (the load stops by itself), on 127.0.0.1
        only; it measures, it never asserts.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg
import grpc

from bench import target
from bench.proc import PYTHON, ServerProcess
from bench.report import REPORTED, Figure, Goal
from bench.soak_load import Load, fixtures
from bench.soak_readings import Busy, Size, measure, watch_maintenance
from bench.stats import percentile

SECTION = "soak"
WINDOW = 20.0  # every retention window, seconds
PASS_EVERY = 4.0
COMPACT_EVERY = 7.0
SAMPLE_EVERY = 5.0
ROUND_SECONDS = 20.0
BANNER = re.compile(r"gRPC on [0-9.]+:(\d+)(?:, metrics on port (\d+))?")

SETTINGS = {
    "ROLLCALL_SIM_OUTCOMES": f"{target.ANSWER_AT_ONCE}=answer:0",
    "ROLLCALL_METRICS_LISTEN": "127.0.0.1:0",
    "ROLLCALL_ENDED_PARTICIPANT_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_ENDED_CONFERENCE_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_REQUEST_ID_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_CARRIER_CALL_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_CARRIER_CALLBACK_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_DEAD_LETTER_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_AUDIT_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_RETENTION_INTERVAL_SECONDS": str(PASS_EVERY),
    "ROLLCALL_EVENT_RETENTION_SECONDS": str(WINDOW / 2),
    "ROLLCALL_EVENT_RETENTION_COUNT": "50",
    "ROLLCALL_COMPACTION_INTERVAL_SECONDS": str(COMPACT_EVERY),
    "ROLLCALL_MAX_IN_FLIGHT": "0",
}


def p99(
    writes: Sequence[tuple[float, float]],
    spans: Sequence[tuple[float, float]],
    other: Sequence[tuple[float, float]] = (),
) -> float | None:
    """p99 (ms) of the writes that started in `spans` and in none of `other`."""
    inside = [
        seconds
        for start, seconds in writes
        if any(a <= start < b for a, b in spans) and not any(a <= start < b for a, b in other)
    ]
    return percentile(sorted(inside), 99) * 1000 if len(inside) >= 20 else None


def quiet(writes: Sequence[tuple[float, float]], busy: Busy) -> list[tuple[float, float]]:
    spans = busy.retention + busy.compaction
    return [(s, d) for s, d in writes if not any(a <= s < b for a, b in spans)]


def run_section(
    *,
    server_cpus: Sequence[int],
    seconds: float,
    run_dir: Path,
    log: Callable[[str], None],
    store: str = "sqlite",
) -> list[Figure]:
    """The soak on SQLite (a file in run_dir) or on a throwaway PostgreSQL."""
    if store == "postgres":
        return _on_postgres(server_cpus, seconds, run_dir, log)
    database = run_dir / "soak.sqlite3"
    for leftover in run_dir.glob("soak.sqlite3*"):
        leftover.unlink()
    try:
        return _run(database, server_cpus, seconds, run_dir, log)
    finally:
        for leftover in run_dir.glob("soak.sqlite3*"):
            leftover.unlink()


def _on_postgres(
    server_cpus: Sequence[int], seconds: float, run_dir: Path, log: Callable[[str], None]
) -> list[Figure]:
    from tests.pg import PostgresServer  # the test suite's throwaway server

    server = PostgresServer(durable=True)
    try:
        dsn = server.create_database("soak")

        async def tune() -> None:
            # Autovacuum looks every 5 s (default 60 s), so a run of minutes
            # shows the steady state a day-long run would.
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("ALTER SYSTEM SET autovacuum_naptime = '5s'")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()

        asyncio.run(tune())
        return _run(dsn, server_cpus, seconds, run_dir, log)
    finally:
        server.close()


def _run(
    database: Path | str,
    server_cpus: Sequence[int],
    seconds: float,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    env = target.rollcall_env(database, http=False)
    env.update(SETTINGS)
    argv = [PYTHON, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"]
    server = ServerProcess(
        "rollcall-soak", argv, BANNER, cpus=server_cpus, env=env,
        log_path=run_dir / "rollcall-soak.log",
    ).start()  # fmt: skip
    try:
        return asyncio.run(_soak(server, database, seconds, log))
    finally:
        server.stop()


async def _soak(
    server: ServerProcess, database: Path | str, seconds: float, log: Callable[[str], None]
) -> list[Figure]:
    metrics_port = server.ports[1]
    async with grpc.aio.insecure_channel(server.target) as channel:
        loop = asyncio.get_running_loop()
        empty = await loop.run_in_executor(None, measure, database, time.monotonic())
        busy_names, live = await fixtures(channel)
        with_live = await loop.run_in_executor(None, measure, database, time.monotonic())
        load = Load(channel, busy_names)
        busy = Busy()
        sizes: list[Size] = []
        stop = asyncio.Event()

        async def sample() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                # In a thread: a read of the file may wait on its locks, and
                # the load's clock must not stop meanwhile.
                sizes.append(await loop.run_in_executor(None, measure, database, load.began))
                log(
                    f"[{SECTION}] t={sizes[-1].at:5.0f} s  file+WAL {sizes[-1].file_bytes:>12,} B"
                    f"  in use {sizes[-1].used_bytes:>12,} B  free pages {sizes[-1].free_pages:>6,}"
                    f"  live {sizes[-1].live:>5,}  ended {sizes[-1].ended:>6,}"
                )
                with_timeout = asyncio.create_task(stop.wait())
                await asyncio.wait({with_timeout}, timeout=SAMPLE_EVERY)
                with_timeout.cancel()

        watcher = asyncio.create_task(watch_maintenance(metrics_port, load.began, busy, stop))
        sampler = asyncio.create_task(sample())
        await load.run(seconds)
        stop.set()
        await asyncio.gather(watcher, sampler)
        sizes.append(await loop.run_in_executor(None, measure, database, load.began))
    log(f"[{SECTION}] {len(load.writes):,} writes, {load.failures} lifecycles failed")
    section = SECTION if isinstance(database, Path) else f"{SECTION} (PostgreSQL)"
    return figures(section, sizes, load.writes, busy, empty, with_live, live)


def figures(
    section: str,
    sizes: Sequence[Size],
    writes: Sequence[tuple[float, float]],
    busy: Busy,
    empty: Size,
    with_live: Size,
    live: int,
) -> list[Figure]:
    end = sizes[-1]
    # The plateau: from two windows in (everything made since has had time to
    # go); in use rises and falls with each pass, so its halves are compared
    # by their highest sample.
    settled = [s for s in sizes if s.at >= 2 * WINDOW] or list(sizes)
    start = settled[0]
    half = (start.at + end.at) / 2
    first_high = max(s.used_bytes for s in settled if s.at < half) if len(settled) > 1 else 0
    last_high = max(s.used_bytes for s in settled if s.at >= half)
    per_live = (with_live.used_bytes - empty.used_bytes) / live
    ended_kept = max(end.ended, 1)
    per_ended = (end.used_bytes - with_live.used_bytes) / ended_kept
    # Rounds of about ROUND_SECONDS over the plateau (at least three), each its own p99s.
    count = max(3, int((end.at - start.at) // ROUND_SECONDS))
    span = (end.at - start.at) / count
    rounds = [(start.at + i * span, start.at + (i + 1) * span) for i in range(count)]

    def in_round(r: tuple[float, float]) -> list[tuple[float, float]]:
        return [(s, d) for s, d in writes if r[0] <= s < r[1]]

    quiet_p99 = [p99(quiet(in_round(r), busy), [r]) for r in rounds]
    retention_p99 = [p99(in_round(r), busy.retention, busy.compaction) for r in rounds]
    compaction_p99 = [p99(in_round(r), busy.compaction, busy.retention) for r in rounds]
    curve = ", ".join(
        f"{s.at:.0f}s {s.file_bytes / 1e6:.1f}MB" for s in sizes[:: max(1, len(sizes) // 8)]
    )
    sqlite = section == SECTION
    size_name = "database size (file+WAL)" if sqlite else "table+index size"
    found = [
        Figure(
            section, f"{size_name}, end vs plateau start", "bytes",
            f"size at {start.at:.0f} s", [float(end.file_bytes)], [float(start.file_bytes)],
            Goal("<=", 1.1), note=f"{size_name} over the run: {curve}",
        ),
        Figure(
            section,
            f"{'pages in use' if sqlite else size_name}, highest in the plateau's 2nd half vs 1st",
            "bytes", "highest in the 1st half", [float(last_high)], [float(first_high)],
            Goal("<=", 1.1),
            note=f"free pages at the end: {end.free_pages:,} (freed pages are reused)" if sqlite
            else f"dead rows awaiting autovacuum at the end: {end.free_pages:,}",
        ),
        Figure(section, "disk per live participant", "bytes", "-", [per_live], [], REPORTED),
        Figure(
            section, "disk per ended participant kept", "bytes", "-", [per_ended], [], REPORTED,
            note=f"{end.ended:,} ended participants kept at the end, with their conferences"
            " and event logs",
        ),
        Figure(
            section, "write p99 during a retention pass", "ms", "write p99 with neither",
            retention_p99, quiet_p99, Goal("<=", 1.2),
        ),
        Figure(
            section, "write p99 during a compaction", "ms", "write p99 with neither",
            compaction_p99, quiet_p99, Goal("<=", 1.2),
        ),
    ]  # fmt: skip
    return found


def main() -> int:
    import argparse
    import sys

    from bench.proc import pin_self, plan_cpus
    from bench.report import table

    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    plan = plan_cpus()
    pin_self(plan.load)
    run_dir = Path(__file__).resolve().parent / "results" / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    found = run_section(
        server_cpus=plan.server, seconds=args.seconds, run_dir=run_dir,
        log=lambda m: print(m, file=sys.stderr, flush=True), store=args.store,
    )  # fmt: skip
    print(table(found))
    for f in found:
        if f.note:
            print(f"* {f.name}: {f.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
