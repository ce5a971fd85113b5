"""The paced writer process: one conference changed at a steady rate, open loop.

Rule 1: `python -m bench.watch writer SPEC` runs writer(SPEC): it changes the
        watched conference at `rate` changes per second for `duration` seconds
        (UpdateParticipant toggling `muted` round-robin over the conference's
        participants, one event each) and prints the last revision it made and
        the server's CPU-seconds meanwhile.
Rule 2: open loop: a change is sent when it is due whether or not the previous
        ones have been answered, so a slow server meets the full rate.
Rule 3: a change an overloaded server refuses (RESOURCE_EXHAUSTED) is counted,
        not fatal.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from bench.proc import cpu_seconds
from bench.stats import percentile
from bench.target import METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb


async def writer(spec: dict[str, Any]) -> dict[str, Any]:
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
