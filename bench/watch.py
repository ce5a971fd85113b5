"""WatchConference fan-out: one measured round of watcher processes and the paced writer.

Rule 1: `python -m bench.watch watchers SPEC` runs one watcher process
        (bench.watch_streams), `python -m bench.watch writer SPEC` the paced
        writer (bench.watch_writer); each prints one JSON line of results.
Rule 2: watch_round() runs one round for N watchers against one server (Rollcall or
        the bare fan-out baseline, the same processes for both): start the watcher
        processes (250 streams each, so 1,000 watchers use 4 processes, at nice 10
        so the writer beside them on the load CPU keeps its pace), run the writer,
        then collect and aggregate the watchers' results.
Rule 3: idle_rss() is the server's RSS growth per connected, idle watcher.
Rule 4: an event counts as lost only if it never arrives (after the writer stops,
        streams get `drain` seconds to catch up); late is measured as latency, not
        loss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import watch_streams, watch_writer
from bench.budget import Budget
from bench.proc import PYTHON, REPO, ServerProcess, rss_bytes
from bench.report import Figure, Goal
from bench.stats import median, percentile

STREAMS_PER_PROCESS = 250


def _spawn(kind: str, spec: dict[str, Any], run_dir: Path, index: int) -> subprocess.Popen[str]:
    path = run_dir / f"watch-{kind}-{index}.json"
    path.write_text(json.dumps(spec))
    return subprocess.Popen(
        [PYTHON, "-m", "bench.watch", kind, str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError("no answer from a watcher process")
    return proc.stdout.readline()


def _start_watchers(
    target: str, parent: str, watchers: int, drain: float, run_dir: Path
) -> list[subprocess.Popen[str]]:
    """Watcher processes holding `watchers` streams, once every stream has its snapshot."""
    procs: list[subprocess.Popen[str]] = []
    left = watchers
    try:
        while left > 0:
            streams = min(STREAMS_PER_PROCESS, left)
            left -= streams
            spec = {"target": target, "parent": parent, "streams": streams, "drain": drain}
            procs.append(_spawn("watchers", spec, run_dir, len(procs)))
        for proc in procs:
            line = _readline(proc, 180.0)
            if line.strip() != "ready":
                raise RuntimeError(f"watcher process failed to start: {line!r}")
    except BaseException:
        _stop(procs)
        raise
    return procs


def _finish(procs: list[subprocess.Popen[str]], final: int, drain: float) -> list[dict[str, Any]]:
    """Tell the watchers the last revision; their results once they have it (or gave up)."""
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"final {final}\n")
            proc.stdin.flush()
        return [json.loads(_readline(proc, drain + 120)) for proc in procs]
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def idle_rss(*, target: str, server_pid: int, parent: str, watchers: int, run_dir: Path) -> float:
    """Server RSS growth per watcher while `watchers` streams are connected and idle."""
    before = rss_bytes(server_pid)
    procs = _start_watchers(target, parent, watchers, 5.0, run_dir)
    time.sleep(1.0)  # let the server settle every stream into its idle wait
    idle = rss_bytes(server_pid)
    _finish(procs, 0, 5.0)
    return (idle - before) / watchers


def watch_round(
    *,
    target: str,
    server_pid: int,
    parent: str,
    names: list[str],
    watchers: int,
    rate: float,
    duration: float,
    drain: float,
    run_dir: Path,
    writer_target: str | None = None,
) -> dict[str, Any]:
    """writer_target: the changes go to another server (replica) than the watchers'."""
    procs = _start_watchers(target, parent, watchers, drain, run_dir)
    try:
        writer_spec = {
            "target": writer_target or target,
            "names": names,
            "rate": rate,
            "duration": duration,
            "server_pid": server_pid,
        }
        writer = _spawn("writer", writer_spec, run_dir, 0)
        out, _ = writer.communicate(timeout=duration + 120)
        if writer.returncode != 0:
            raise RuntimeError("watch writer failed")
        wrote = json.loads(out)
    except BaseException:
        _stop(procs)
        raise
    results = _finish(procs, wrote["final_revision"], drain)
    latencies = sorted(v for r in results for v in r["latencies_ms"])
    delivered = sum(r["received"] for r in results)
    return {
        "watchers": watchers,
        "changes": wrote["changes"],
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "lost": sum(r["lost"] for r in results),
        "expected": sum(r["expected"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:5],
        "server_cpu_per_1000_deliveries": (
            wrote["server_cpu"] / delivered * 1000 if delivered else None
        ),
        # Share of the load CPU the watcher processes used while the changes flowed.
        "watcher_cpu_busy": sum(r["client_cpu"] for r in results)
        / max(max(r["client_wall"] for r in results), 1e-9),
        "writer_lag_p99_ms": wrote["pacing_lag_p99_ms"],
        "answered_per_second": (wrote["changes"] - wrote.get("refused", 0))
        / max(wrote["seconds"], 1e-9),
        "refused": wrote.get("refused", 0),
    }


SECTION = "WatchConference"
BASELINE = "bare grpc.aio stream fan-out of the same-sized message (asyncio queue per stream)"
RATE = 20.0


def run_section(
    *,
    rollcall: ServerProcess,
    baseline: ServerProcess,
    parent: str,
    names: list[str],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    """p50, p99, lost and server CPU for each watcher count."""
    figures: list[Figure] = []
    for watchers in budget.watchers:
        rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "rollcall": []}
        for round_no in range(1, budget.watch_rounds + 1):
            for side, server in (("baseline", baseline), ("rollcall", rollcall)):
                result = watch_round(
                    target=server.target,
                    server_pid=server.pid,
                    parent=parent,
                    names=names,
                    watchers=watchers,
                    rate=RATE,
                    duration=budget.watch_duration,
                    drain=30.0,
                    run_dir=run_dir,
                )
                rounds[side].append(result)
                log(
                    f"[{SECTION}] round {round_no}/{budget.watch_rounds} {watchers:>5} watchers"
                    f" {side:<8} p50 {result['p50_ms'] or 0:7.1f} ms"
                    f" p99 {result['p99_ms'] or 0:7.1f} ms lost {result['lost']}"
                    f" answered {result['answered_per_second']:.1f}/s"
                    f" watchers' CPU {result['watcher_cpu_busy']:.0%}"
                )
        rc, base = rounds["rollcall"], rounds["baseline"]
        note = (
            f"changes answered per second (offered {RATE:g}): Rollcall"
            f" {median([r['answered_per_second'] for r in rc]):.1f}, baseline"
            f" {median([r['answered_per_second'] for r in base]):.1f}; writer pacing lag p99"
            f" {median([r['writer_lag_p99_ms'] for r in rc]):.0f} ms /"
            f" {median([r['writer_lag_p99_ms'] for r in base]):.0f} ms; watcher processes' CPU"
            f" busy {median([r['watcher_cpu_busy'] for r in rc]):.0%} /"
            f" {median([r['watcher_cpu_busy'] for r in base]):.0%}"
        )
        slow = [
            side
            for side, results in (("Rollcall", rc), ("baseline", base))
            if (median([r["answered_per_second"] for r in results]) or 0) < 0.9 * RATE
        ]
        if slow:
            note += (
                f"; {' and '.join(slow)} did not sustain {RATE:g} changes/s here (server CPU"
                " saturated), so this row compares overloaded servers"
            )
        note += f"; p99 of {rc[0]['changes'] * watchers:,} deliveries per round"
        errors = [e for r in rc + base for e in r["errors"]]
        if errors:
            note += f"; stream errors: {errors[:2]}"
        what = f"{watchers:,} watcher{'s' if watchers != 1 else ''}"
        figures += [
            Figure(SECTION, f"{what}: delivery p50", "ms", BASELINE,
                   [r["p50_ms"] for r in rc], [r["p50_ms"] for r in base]),
            Figure(SECTION, f"{what}: delivery p99", "ms", BASELINE,
                   [r["p99_ms"] for r in rc], [r["p99_ms"] for r in base],
                   Goal("<=", 1.2 if watchers == 1 else 1.5), note),
            Figure(SECTION, f"{what}: events lost", "events", BASELINE,
                   [r["lost"] for r in rc], [r["lost"] for r in base],
                   Goal("zero"), f"of {sum(r['expected'] for r in rc):,} expected",
                   combine="sum"),
            Figure(SECTION, f"{what}: server CPU per 1,000 deliveries", "s", BASELINE,
                   [r["server_cpu_per_1000_deliveries"] for r in rc],
                   [r["server_cpu_per_1000_deliveries"] for r in base],
                   note="the writer's UpdateParticipant calls are included"),
        ]  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["watchers", "writer"])
    parser.add_argument("spec", type=Path)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    result = asyncio.run(
        watch_streams.watchers(spec) if args.kind == "watchers" else watch_writer.writer(spec)
    )
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
