"""The gRPC unary load generator: one process, N concurrent callers, one measured window.

Rule 1: `python -m bench.load SPEC.json` drives one unary method of a server
        (Rollcall or the bare baseline, the same code for both) with `concurrency`
        callers in a closed loop over `channels` HTTP/2 connections, warms up, then
        measures for `duration` seconds.
Rule 2: it prints one JSON line: completions per second, p50/p99 latency, errors by
        status code, and the CPU-seconds the server process (read from
        /proc/<pid>/stat at the window's edges) and this process used inside the
        window.
Rule 3: `python -m bench.load -` stays up and runs one spec per stdin line
        (LoadWorker is its handle), so rounds do not pay for a process start each.
Rule 4: requests go over the wire as pre-serialized bytes and responses are not
        parsed (grpc raises on any non-OK status), so the load generator spends as
        little CPU per call as grpc.aio allows.
Rule 5: Creates are built on the fly: each caller fills its own conferences (by
        friendly name) up to `per_conference` participants, with a unique
        request_id per call.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import itertools
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from bench.proc import PYTHON, REPO, cpu_seconds
from bench.stats import percentile
from bench.target import METADATA, SERVICE, create_request, parent


def _request_source(spec: dict[str, Any], worker: int) -> Callable[[], bytes]:
    if spec.get("requests"):
        requests = [base64.b64decode(r) for r in spec["requests"]]
        cycle = itertools.cycle(requests[worker % len(requests) :] + requests)
        return lambda: next(cycle)
    per = int(spec.get("per_conference", 100))
    tag = f"{spec['tag']}-{worker}"
    counter = itertools.count()

    def create() -> bytes:
        n = next(counter)
        return create_request(parent(f"bench-{tag}-{n // per}")).SerializeToString()

    return create


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(spec["concurrency"])
    n_channels = int(spec.get("channels") or max(1, (concurrency + 15) // 16))
    channels = [
        grpc.aio.insecure_channel(spec["target"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(n_channels)
    ]
    calls = [ch.unary_unary(SERVICE + spec["method"]) for ch in channels]
    await asyncio.gather(*(ch.channel_ready() for ch in channels))
    now = time.perf_counter()
    start = now + float(spec["warmup"])
    end = start + float(spec["duration"])
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    first_error: list[str] = []

    async def worker(index: int) -> None:
        call = calls[index % n_channels]
        source = _request_source(spec, index)
        while True:
            sent = time.perf_counter()
            if sent >= end:
                return
            try:
                await call(source(), metadata=METADATA, timeout=60)
            except grpc.aio.AioRpcError as exc:
                if sent >= start:
                    errors[exc.code().name] += 1
                    if not first_error:
                        first_error.append(f"{exc.code().name}: {exc.details()}")
                continue
            done = time.perf_counter()
            if start <= done <= end:
                latencies.append(done - sent)

    server_pid = int(spec["server_pid"])
    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    server_before, client_before = cpu_seconds(server_pid), time.process_time()
    await asyncio.sleep(max(0.0, end - time.perf_counter()))
    server_after, client_after = cpu_seconds(server_pid), time.process_time()
    await asyncio.gather(*tasks)
    for ch in channels:
        await ch.close()
    duration = float(spec["duration"])
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / duration,
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
        "errors": dict(errors),
        "first_error": first_error[0] if first_error else None,
        "server_cpu": server_after - server_before,
        "client_cpu": client_after - client_before,
        "seconds": duration,
    }


def spec_for(
    target: str,
    method: str,
    *,
    server_pid: int,
    concurrency: int,
    duration: float,
    warmup: float,
    requests: list[bytes] | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    return {
        "target": target,
        "method": method,
        "server_pid": server_pid,
        "concurrency": concurrency,
        "duration": duration,
        "warmup": warmup,
        "requests": [base64.b64encode(r).decode() for r in requests or []],
        "tag": tag or uuid.uuid4().hex[:8],
    }


class LoadWorker:
    """A persistent `python -m bench.load -` process: one spec in, one result out, per run."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.load", "-"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the load generator process died")
        result: dict[str, Any] = json.loads(line)
        if "crash" in result:
            raise RuntimeError(f"load generator: {result['crash']}")
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


async def _serve_stdin() -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        try:
            result = await drive(json.loads(line))
        except Exception as exc:
            result = {"crash": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", help="a spec file, or - to read one spec per line from stdin")
    args = parser.parse_args()
    if args.spec == "-":
        asyncio.run(_serve_stdin())
        return
    result = asyncio.run(drive(json.loads(Path(args.spec).read_text())))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
