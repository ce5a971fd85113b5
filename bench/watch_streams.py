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
import time
from typing import Any

import grpc

from bench.stream_round import Round
from bench.target import METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb

STREAMS_PER_CHANNEL = 100


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
    round_ = Round(n)

    async def follow(i: int) -> None:
        state = round_.streams[i]
        call = methods[i // STREAMS_PER_CHANNEL](request, metadata=METADATA)
        try:
            async for raw in call:
                item = pb.WatchConferenceResponse.FromString(raw)
                kind = item.WhichOneof("item")
                if kind == "event":
                    received_at = time.time()
                    event = item.event
                    if round_.event(state, event.revision, event.time.ToNanoseconds(), received_at):
                        return
                elif kind == "initial_state_complete":
                    round_.snapshot(state, item.initial_state_complete.revision)
                    round_.started(state)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                round_.errors.append(f"{exc.code().name}: {exc.details()}")
        finally:
            round_.started(state)  # one that ended first: counted, never waited for

    async def close() -> None:
        for ch in channels:
            await ch.close()

    tasks = [asyncio.create_task(follow(i)) for i in range(n)]
    return await round_.finish(tasks, close, float(spec["drain"]))
