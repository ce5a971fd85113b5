"""A burst of concurrent Create callers in a process of its own (no deadlines).

`python -m tests.e2e.burst TARGET CALLERS FIRST` connects, prints "ready",
waits for a line on stdin (the go signal, sent to every burst process at
once), then sends CALLERS Creates at once, numbered from FIRST, and prints one
JSON list: per call its outcome ("OK" or CODE/REASON), its latency in seconds,
and the RetryInfo delay in seconds the refusal carried (None without one).
Several such processes make a burst no one client process could send at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.e2e.storm import MD, create_request, reason

Outcome = tuple[str, float, float | None]


def retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


async def burst(target: str, callers: int, first: int) -> list[Outcome]:
    outcomes: list[Outcome] = []
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        stub = pb_grpc.ParticipantServiceStub(channel)

        async def one(n: int) -> None:
            request = create_request(f"burst-{n % 20}", f"burst-{n}", n)
            began = time.monotonic()
            try:
                await stub.CreateParticipant(request, metadata=MD)
            except grpc.aio.AioRpcError as exc:
                outcome = f"{exc.code().name}/{reason(exc)}"
                outcomes.append((outcome, time.monotonic() - began, retry_delay(exc)))
            else:
                outcomes.append(("OK", time.monotonic() - began, None))

        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.gather(*(one(first + i) for i in range(callers)))
    return outcomes


if __name__ == "__main__":
    target, callers, first = sys.argv[1:4]
    print(json.dumps(asyncio.run(burst(target, int(callers), int(first)))))
