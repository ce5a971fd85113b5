"""WatchConference watcher process: `streams` streams, every event's commit-to-receipt latency.

Rule 1: `python -m bench.watch watchers SPEC` runs watchers(SPEC): one process
        holding `streams` WatchConference streams (snapshot mode,
        STREAMS_PER_CHANNEL streams per HTTP/2 connection). It prints `ready`
        once every stream has its initial state, then waits for a line `final
        REVISION` on stdin, waits until every stream has that revision (or
        `drain` seconds pass) and prints one JSON line: expected and received
        events, lost events, and every commit-to-receipt latency.
Rule 2: a latency is the receipt's time.time() minus the event's `time`, which the
        server stamps from its clock when it makes the change; the bare baseline
        stamps its messages the same way.
Rule 3: an event counts as lost only if it never arrives within `drain` seconds;
        late is measured as latency, not loss.
Rule 4: it runs at nice 10, below the writer beside it on the load CPU.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import grpc

from bench.target import METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb

STREAMS_PER_CHANNEL = 100


class _Stream:
    __slots__ = ("last", "received", "start")

    def __init__(self) -> None:
        self.start: int | None = None
        self.last = 0
        self.received = 0


async def watchers(spec: dict[str, Any]) -> dict[str, Any]:
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
