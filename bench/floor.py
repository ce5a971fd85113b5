"""The floor (issue 22 item 6): WatchAccount and its Server-Sent Events at scale.

Rule 1: `python -m bench.floor watchers SPEC` runs one watcher process of
        account-wide streams (bench.floor_streams).
Rule 2: floor_round() is one round of N such watchers while bench.watch's writer
        changes one conference at 20 changes/s (the writer may write to another
        replica than the watchers read).
Rule 3: snapshot_seconds() is how long one WatchAccount takes to deliver its
        snapshot (every live conference with its participants) to a client.
Rule 4: run_section() makes the figures on a fresh server of their own: N account
        watchers against the bare fan-out baseline (delivery p99, events lost, RSS
        per idle watcher), N SSE clients against the gRPC account watch, then a
        floor of F conferences x 5 participants: the snapshot's time to the client
        (goal under 1 s) and an account watcher's delivery against a
        per-conference watcher's under the same writes. The PostgreSQL replica
        figure is bench.postgres's (it calls floor_round).
Rule 5: only the watched conference changes while a round runs (the floor's
        participants are answered at once and stay connected), so every stream
        must receive exactly the writer's events; an event counts as lost only if
        it never arrives within `drain` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench import floor_streams, target, watch
from bench.budget import Budget
from bench.proc import PYTHON, REPO, ServerProcess, rss_bytes
from bench.report import Figure, Goal
from bench.stats import median, percentile
from bench.target import METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb

SECTION = "Floor"
BASELINE = watch.BASELINE
PER_CONFERENCE_BASELINE = "WatchConference of the changed conference, same server and writes"
STREAMS_PER_PROCESS = 250
FLOOR_PEOPLE = 5
# Watchers of the account-vs-conference comparison on the big floor.
FLOOR_WATCHERS = 10


def conference_sid(parent: str) -> str:
    return parent.rsplit("/", 1)[1]


def _start(
    mode: str, server: ServerProcess, sid: str, watchers: int, drain: float, run_dir: Path
) -> list[subprocess.Popen[str]]:
    procs: list[subprocess.Popen[str]] = []
    left = watchers
    try:
        while left > 0:
            streams = min(STREAMS_PER_PROCESS, left)
            left -= streams
            spec = {
                "mode": mode,
                "target": server.target,
                "http_port": server.ports[1] if len(server.ports) > 1 else 0,
                "conference_sid": sid,
                "streams": streams,
                "drain": drain,
            }
            path = run_dir / f"floor-{mode}-{len(procs)}.json"
            path.write_text(json.dumps(spec))
            procs.append(
                subprocess.Popen(
                    [PYTHON, "-m", "bench.floor", "watchers", str(path)],
                    cwd=REPO,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            line = watch._readline(proc, 300.0)
            if line.strip() != "ready":
                raise RuntimeError(f"floor watcher process failed to start: {line!r}")
    except BaseException:
        watch._stop(procs)
        raise
    return procs


def floor_round(
    *,
    mode: str,
    server: ServerProcess,
    parent: str,
    names: list[str],
    watchers: int,
    duration: float,
    run_dir: Path,
    writer: ServerProcess | None = None,
    drain: float = 30.0,
) -> dict[str, Any]:
    """One round: `watchers` account streams ("account" or "sse") on `server`,
    the writer changing `parent` through `writer` (default: the same server)."""
    if mode == "conference":
        return watch.watch_round(
            target=server.target, server_pid=server.pid, parent=parent, names=names,
            watchers=watchers, rate=watch.RATE, duration=duration, drain=drain,
            run_dir=run_dir, writer_target=writer.target if writer else None,
        )  # fmt: skip
    procs = _start(mode, server, conference_sid(parent), watchers, drain, run_dir)
    try:
        spec = {
            "target": (writer or server).target,
            "names": names,
            "rate": watch.RATE,
            "duration": duration,
            "server_pid": server.pid,
        }
        proc = watch._spawn("writer", spec, run_dir, 0)
        out, _ = proc.communicate(timeout=duration + 120)
        if proc.returncode != 0:
            raise RuntimeError("watch writer failed")
        wrote = json.loads(out)
    except BaseException:
        watch._stop(procs)
        raise
    results = watch._finish(procs, wrote["final_revision"], drain)
    latencies = sorted(v for r in results for v in r["latencies_ms"])
    return {
        "watchers": watchers,
        "changes": wrote["changes"],
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "lost": sum(r["lost"] for r in results),
        "expected": sum(r["expected"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:5],
        "answered_per_second": (wrote["changes"] - wrote["refused"]) / max(wrote["seconds"], 1e-9),
        "refused": wrote["refused"],
        # The watcher processes' own CPU-seconds from `final` to drained: a
        # client side near a whole core would measure the bench, not the server.
        "client_cpu": sum(r.get("client_cpu", 0.0) for r in results),
    }


def idle_rss(server: ServerProcess, parent: str, watchers: int, run_dir: Path) -> float:
    """Server RSS growth per idle account watcher (as bench.watch.idle_rss)."""
    before = rss_bytes(server.pid)
    procs = _start("account", server, conference_sid(parent), watchers, 5.0, run_dir)
    time.sleep(1.0)  # let the server settle every stream into its idle wait
    idle = rss_bytes(server.pid)
    watch._finish(procs, 0, 5.0)
    return (idle - before) / watchers


async def _snapshot_seconds(server: ServerProcess) -> tuple[float, int]:
    async with grpc.aio.insecure_channel(server.target) as channel:
        method = channel.unary_stream(SERVICE + "WatchAccount")
        request = pb.WatchAccountRequest(parent=f"accounts/{target.ACCOUNT_SID}")
        began = time.monotonic()
        call = method(request.SerializeToString(), metadata=METADATA)
        people = 0
        async for raw in call:
            item = pb.WatchAccountResponse.FromString(raw)
            if item.WhichOneof("item") == "conference_snapshot":
                people += len(item.conference_snapshot.participants)
            elif item.WhichOneof("item") == "snapshot_complete":
                seconds = time.monotonic() - began
                call.cancel()
                return seconds, people
    raise RuntimeError("WatchAccount ended before its snapshot did")


async def _build_floor(server: ServerProcess, conferences: int) -> None:
    """`conferences` live conferences of FLOOR_PEOPLE connected participants."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        create = channel.unary_unary(
            SERVICE + "CreateParticipant",
            request_serializer=pb.CreateParticipantRequest.SerializeToString,
            response_deserializer=pb.CreateParticipantResponse.FromString,
        )
        todo = [
            target.parent(f"floor-{c:04d}") for c in range(conferences) for _ in range(FLOOR_PEOPLE)
        ]

        async def worker() -> None:
            while todo:
                request = target.create_request(todo.pop(), to=target.ANSWER_AT_ONCE)
                for attempt in range(50):
                    try:
                        await create(request, metadata=METADATA)
                        break
                    except grpc.aio.AioRpcError as exc:
                        # A busy server refuses (RESOURCE_EXHAUSTED); the same
                        # request_id makes the retry safe.
                        if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or attempt == 49:
                            raise
                        await asyncio.sleep(0.2)

        await asyncio.gather(*(worker() for _ in range(16)))


def _row(
    what: str, label: str, rc: list[dict[str, Any]], base: list[dict[str, Any]], goal: float
) -> list[Figure]:
    errors = [e for r in rc + base for e in r["errors"]]
    note = (
        f"answered/s {median([r['answered_per_second'] for r in rc]) or 0:.1f} /"
        f" {median([r['answered_per_second'] for r in base]) or 0:.1f} (offered {watch.RATE:g})"
    )
    refused = sum(r.get("refused", 0) for r in rc + base)
    if refused:
        note += f"; {refused} changes refused by an overloaded server (RESOURCE_EXHAUSTED)"
    if errors:
        note += f"; stream errors: {errors[:2]}"
    return [
        Figure(SECTION, f"{what}: delivery p50", "ms", label,
               [r["p50_ms"] for r in rc], [r["p50_ms"] for r in base]),
        Figure(SECTION, f"{what}: delivery p99", "ms", label,
               [r["p99_ms"] for r in rc], [r["p99_ms"] for r in base], Goal("<=", goal), note),
        Figure(SECTION, f"{what}: events lost", "events", label,
               [r["lost"] for r in rc], [r["lost"] for r in base], Goal("zero"),
               f"of {sum(r['expected'] for r in rc):,} expected", combine="sum"),
    ]  # fmt: skip


def run_section(
    *,
    baseline: ServerProcess,
    baseline_parent: str,
    baseline_names: list[str],
    server_cpus: tuple[int, ...],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    server = target.rollcall_server(
        "rollcall-floor", run_dir / "rollcall-floor.sqlite3", cpus=server_cpus,
        log_path=run_dir / "rollcall-floor.log", http=True,
    ).start()  # fmt: skip
    try:
        return _figures(server, baseline, baseline_parent, baseline_names, budget, run_dir, log)
    finally:
        server.stop()


def _figures(
    server: ServerProcess,
    baseline: ServerProcess,
    baseline_parent: str,
    baseline_names: list[str],
    budget: Budget,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    load = os.getloadavg()
    with target.channel(server.target) as stub:
        parent, names = target.watch_fixture(stub, "floor")
    n = budget.floor_watchers
    rounds: dict[str, list[dict[str, Any]]] = {"baseline": [], "account": [], "sse": []}
    for round_no in range(1, budget.watch_rounds + 1):
        for side in ("baseline", "account", "sse"):
            if side == "baseline":
                result = floor_round(
                    mode="conference", server=baseline, parent=baseline_parent,
                    names=baseline_names, watchers=n, duration=budget.watch_duration,
                    run_dir=run_dir,
                )  # fmt: skip
            else:
                result = floor_round(
                    mode=side, server=server, parent=parent, names=names, watchers=n,
                    duration=budget.watch_duration, run_dir=run_dir,
                )  # fmt: skip
            rounds[side].append(result)
            log(
                f"[{SECTION}] round {round_no}/{budget.watch_rounds} {n} watchers {side:<8}"
                f" p50 {result['p50_ms'] or 0:7.1f} ms p99 {result['p99_ms'] or 0:7.1f} ms"
                f" lost {result['lost']} answered {result['answered_per_second']:.1f}/s"
                f" watcher CPU {result.get('client_cpu', 0.0):.1f} s"
            )
    figures = _row(f"{n:,} account watchers", BASELINE, rounds["account"], rounds["baseline"], 1.5)
    figures += _row(
        f"{n:,} SSE clients",
        f"{n:,} gRPC account watchers of the same server and writes (this run)",
        rounds["sse"], rounds["account"], 2.0,
    )  # fmt: skip
    rss: dict[str, list[float | None]] = {"rollcall": [], "baseline": []}
    for _ in range(budget.watch_rounds):
        rss["baseline"].append(watch.idle_rss(
            target=baseline.target, server_pid=baseline.pid, parent=baseline_parent,
            watchers=n, run_dir=run_dir,
        ))  # fmt: skip
        rss["rollcall"].append(idle_rss(server, parent, n, run_dir))
    figures.append(
        Figure(
            SECTION,
            f"{n:,} account watchers: RSS per idle watcher",
            "bytes",
            BASELINE,
            rss["rollcall"],
            rss["baseline"],
            Goal("<=", 1.5),
        )
    )

    conferences = budget.floor_conferences
    began = time.monotonic()
    asyncio.run(_build_floor(server, conferences))
    log(f"[{SECTION}] floor of {conferences:,} x {FLOOR_PEOPLE} built in"
        f" {time.monotonic() - began:.0f} s")  # fmt: skip
    snapshots = [asyncio.run(_snapshot_seconds(server)) for _ in range(budget.watch_rounds)]
    people = snapshots[0][1]
    figures.append(
        Figure(
            SECTION,
            f"snapshot of {conferences:,} conferences x {FLOOR_PEOPLE} to a client",
            "ms",
            "goal: under 1 s",
            [s * 1000 for s, _ in snapshots],
            [],
            Goal("under", 1000.0),
            f"{people:,} participants in the snapshot (the watch fixture's included);"
            " from the call's start to snapshot_complete, parsed",
        )
    )
    side_rounds: dict[str, list[dict[str, Any]]] = {"conference": [], "account": []}
    for round_no in range(1, budget.watch_rounds + 1):
        for side in ("conference", "account"):
            result = floor_round(
                mode=side, server=server, parent=parent, names=names, watchers=FLOOR_WATCHERS,
                duration=budget.watch_duration, run_dir=run_dir,
            )  # fmt: skip
            side_rounds[side].append(result)
            log(
                f"[{SECTION}] floor round {round_no}/{budget.watch_rounds} {side:<10}"
                f" p50 {result['p50_ms'] or 0:7.1f} ms p99 {result['p99_ms'] or 0:7.1f} ms"
                f" lost {result['lost']}"
            )
    figures += _row(
        f"{FLOOR_WATCHERS} account watchers of a {conferences:,}-conference floor",
        PER_CONFERENCE_BASELINE, side_rounds["account"], side_rounds["conference"], 1.5,
    )  # fmt: skip
    after = os.getloadavg()
    figures[0].note += (
        f"; load average (1 min) {load[0]:.1f} at the section's start, {after[0]:.1f} at its end"
        " (other work on the machine)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["watchers"])
    parser.add_argument("spec", type=Path)
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    result = asyncio.run(floor_streams.watchers(spec))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
