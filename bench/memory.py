"""Memory figures: resident bytes per idle watcher and per stored participant.

Rule 1: per idle watcher: a fresh Rollcall server (its own small database with one
        10-participant conference) and a fresh bare fan-out baseline, each warmed
        with one watcher, then VmRSS once N watchers are connected and idle minus
        VmRSS just before, over N.
Rule 2: the processes are fresh because a heap that already served a round hands
        freed memory back to the next one and hides the cost.
Rule 3: per stored participant (from readings the cost-growth section takes): the
        slope of VmRSS between the smallest and largest cost-growth servers after
        their rounds (the SQLite page cache is bounded, so this shows whether the
        process keeps anything per stored row), and the same slope of the database
        file's size on disk.
Rule 4: RSS deltas are medians over rounds and always divided by the count that
        caused them.
Rule 5: per idle watcher the goal is at most 1.5x the bare fan-out's; per stored
        participant there is no goal, only a report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench import target, watch
from bench.baselines import start_baseline
from bench.proc import ServerProcess
from bench.report import Figure, Goal

SECTION = "memory"


def measure_idle_watchers(
    *,
    server_cpus: Sequence[int],
    samples: Path,
    watchers: int,
    run_dir: Path,
    log: Callable[[str], None],
) -> dict[str, list[float | None]]:
    servers: list[ServerProcess] = []
    try:
        rollcall = target.rollcall_server(
            "rollcall-memory",
            run_dir / "rollcall-memory.sqlite3",
            cpus=server_cpus,
            log_path=run_dir / "rollcall-memory.log",
        ).start()
        servers.append(rollcall)
        with target.channel(rollcall.target) as stub:
            parent, _ = target.watch_fixture(stub, "memory")
        baseline = start_baseline("grpc", samples, cpus=server_cpus, run_dir=run_dir)
        servers.append(baseline)
        found: dict[str, list[float | None]] = {"watchers": [float(watchers)]}
        for side, server in (("baseline", baseline), ("rollcall", rollcall)):
            for count in (1, watchers):  # one watcher first, to warm the server up
                per_watcher = watch.idle_rss(
                    target=server.target,
                    server_pid=server.pid,
                    parent=parent,
                    watchers=count,
                    run_dir=run_dir,
                )
            found[side] = [per_watcher]
            log(f"[{SECTION}] {side:<8} {per_watcher:,.0f} B of RSS per idle watcher")
        return found
    finally:
        for server in servers:
            server.stop()


def figures(
    idle_watchers: Mapping[str, Sequence[float | None]],
    footprint: Mapping[int, Mapping[str, float]],
) -> list[Figure]:
    out: list[Figure] = []
    if idle_watchers:
        count = int(idle_watchers["watchers"][0] or 0)
        out.append(
            Figure(
                SECTION,
                f"RSS per idle watcher ({count:,} watchers)",
                "bytes",
                "bare grpc.aio stream fan-out, same streams",
                idle_watchers["rollcall"],
                idle_watchers["baseline"],
                Goal("<=", 1.5),
            )
        )
    if len(footprint) >= 2:
        small, large = min(footprint), max(footprint)
        rows = large - small
        for key, what in (("rss", "RSS"), ("disk", "database bytes on disk")):
            slope = (footprint[large][key] - footprint[small][key]) / rows
            out.append(
                Figure(
                    SECTION,
                    f"{what} per stored participant ({small:,} -> {large:,})",
                    "bytes",
                    "-",
                    [slope],
                    [],
                    note=f"{footprint[small][key]:,.0f} B at {small:,}, "
                    f"{footprint[large][key]:,.0f} B at {large:,}",
                )
            )
    return out
