"""WatchConference fan-out: watcher processes, the paced writer, and one measured round.

Rule 1: `python -m bench.watch watchers SPEC` is one process holding `streams`
        WatchConference streams (snapshot mode, `per_channel` streams per HTTP/2
        connection). It prints `ready` once every stream has its initial state,
        then waits for a line `final REVISION` on stdin, waits until every stream
        has that revision (or `drain` seconds pass) and prints one JSON line:
        expected and received events, lost events, and every commit-to-receipt
        latency.
Rule 2: a latency is the receipt's time.time() minus the event's `time`, which the
        server stamps from its clock when it makes the change; the bare baseline
        stamps its messages the same way.
Rule 3: `python -m bench.watch writer SPEC` changes the watched conference at `rate`
        changes per second for `duration` seconds (UpdateParticipant toggling
        `muted` round-robin over the conference's participants, one event each) and
        prints the last revision it made and the server's CPU-seconds meanwhile.
Rule 4: watch_round() runs one round for N watchers against one server (Rollcall or
        the bare fan-out baseline, the same processes for both): start the watcher
        processes (250 streams each, so 1,000 watchers use 4 processes, at nice 10
        so the writer beside them on the load CPU keeps its pace), run the writer,
        then collect and aggregate the watchers' results.
Rule 5: idle_rss() is the server's RSS growth per connected, idle watcher.
Rule 6: an event counts as lost only if it never arrives (after the writer stops,
        streams get `drain` seconds to catch up); late is measured as latency, not
        loss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.budget import Budget
from bench.proc import PYTHON, REPO, ServerProcess, cpu_seconds, rss_bytes
from bench.report import Figure, Goal
from bench.stats import median, percentile
from bench.target import METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb

STREAMS_PER_PROCESS = 250
STREAMS_PER_CHANNEL = 100


class _Stream:
    __slots__ = ("last", "received", "start")

    def __init__(self) -> None:
        self.start: int | None = None
        self.last = 0
        self.received = 0


async def _watchers(spec: dict[str, Any]) -> dict[str, Any]:
    # Below the writer on the shared load CPU: with 1,000 streams the watchers
    # can saturate it, and the writer must still send 20 changes/s on time.
    os.nice(10)
    n = int(spec["streams"])
    request = pb.WatchConferenceRequest(parent=spec["parent"]).SerializeToString()
    channels = [
        grpc.aio.insecure_channel(spec["target"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range((n + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    methods = [ch.unary_stream(SERVICE + "WatchConference") for ch in channels]
    streams = [_Stream() for _ in range(n)]
    latencies: list[float] = []
    errors: list[str] = []
    ready = asyncio.Event()
    ready_count = 0
    final: int | None = None
    caught_up = asyncio.Event()
    behind = n

    async def follow(i: int) -> None:
        nonlocal ready_count, behind
        state = streams[i]
        call = methods[i // STREAMS_PER_CHANNEL](request, metadata=METADATA)
        try:
            async for raw in call:
                item = pb.WatchConferenceResponse.FromString(raw)
                kind = item.WhichOneof("item")
                if kind == "event":
                    received_at = time.time()
                    event = item.event
                    if state.start is None or event.revision <= state.start:
                        continue
                    latencies.append(received_at - event.time.ToNanoseconds() / 1e9)
                    if event.revision > state.last:
                        state.received += 1
                        state.last = event.revision
                    if final is not None and state.last >= final:
                        behind -= 1
                        if behind == 0:
                            caught_up.set()
                        return
                elif kind == "initial_state_complete":
                    state.start = state.last = item.initial_state_complete.revision
                    ready_count += 1
                    if ready_count == n:
                        ready.set()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                errors.append(f"{exc.code().name}: {exc.details()}")
                if state.start is None:
                    ready_count += 1
                    if ready_count == n:
                        ready.set()

    tasks = [asyncio.create_task(follow(i)) for i in range(n)]
    await ready.wait()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    final = int(line.split()[1])
    behind = sum(1 for s in streams if s.last < final)
    if behind == 0:
        caught_up.set()
    drained = True
    try:
        await asyncio.wait_for(caught_up.wait(), float(spec["drain"]))
    except TimeoutError:
        drained = False
    cpu_after, wall_after = time.process_time(), time.monotonic()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()
    expected = sum(final - s.start for s in streams if s.start is not None)
    received = sum(min(s.received, final - s.start) for s in streams if s.start is not None)
    return {
        "streams": n,
        "expected": expected,
        "received": received,
        "lost": expected - received,
        "drained": drained,
        "errors": errors[:5],
        "client_cpu": cpu_after - cpu_before,
        "client_wall": wall_after - wall_before,
        "latencies_ms": [round(v * 1000, 3) for v in latencies],
    }


async def _writer(spec: dict[str, Any]) -> dict[str, Any]:
    names = list(spec["names"])
    rate = float(spec["rate"])
    count = round(rate * float(spec["duration"]))
    async with grpc.aio.insecure_channel(spec["target"]) as channel:
        update = channel.unary_unary(
            SERVICE + "UpdateParticipant",
            request_serializer=pb.UpdateParticipantRequest.SerializeToString,
            response_deserializer=pb.UpdateParticipantResponse.FromString,
        )
        fetch = channel.unary_unary(
            SERVICE + "FetchParticipant",
            request_serializer=pb.FetchParticipantRequest.SerializeToString,
            response_deserializer=pb.FetchParticipantResponse.FromString,
        )
        muted = {}
        for name in names:
            got = await fetch(pb.FetchParticipantRequest(name=name), metadata=METADATA)
            muted[name] = got.participant.muted
        pid = int(spec["server_pid"])
        cpu_before = cpu_seconds(pid)
        started = time.monotonic()
        revisions: list[int] = []
        lags: list[float] = []

        refused: list[str] = []

        async def change(name: str, value: bool) -> None:
            try:
                response = await update(
                    pb.UpdateParticipantRequest(name=name, muted=value), metadata=METADATA
                )
            except grpc.aio.AioRpcError as exc:
                # An overloaded server refuses (RESOURCE_EXHAUSTED): counted, not fatal.
                refused.append(exc.code().name)
                return
            revisions.append(response.participant.revision)

        # Open loop: a change is sent when it is due whether or not the previous
        # ones have been answered, so a slow server meets the full rate.
        pending = set()
        for k in range(count):
            due = started + k / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            lags.append(time.monotonic() - due)
            name = names[k % len(names)]
            muted[name] = not muted[name]
            task = asyncio.create_task(change(name, muted[name]))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        seconds = time.monotonic() - started
        cpu_after = cpu_seconds(pid)
    lags.sort()
    return {
        "changes": count,
        "final_revision": max(revisions, default=0),
        "seconds": seconds,
        "server_cpu": cpu_after - cpu_before,
        "pacing_lag_p99_ms": percentile(lags, 99) * 1000 if lags else 0.0,
        "refused": len(refused),
    }


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
    result = asyncio.run(_watchers(spec) if args.kind == "watchers" else _writer(spec))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
