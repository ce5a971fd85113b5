"""The floor's watcher process: account-wide streams, gRPC WatchAccount or Server-Sent Events.

Rule 1: `python -m bench.floor watchers SPEC` runs watchers(SPEC): one process
        holding `streams` account-wide streams, gRPC WatchAccount (`mode`
        "account", STREAMS_PER_CHANNEL streams per HTTP/2 connection) or the
        gateway's `text/event-stream` (`mode` "sse"), with the protocol of
        bench.watch_streams: `ready` once every stream has its snapshot, then
        `final REVISION` on stdin, then one JSON line (expected, received and
        lost events of the watched conference, every commit-to-receipt latency,
        and the process's CPU-seconds).
Rule 2: the SSE side splits whole frames from the chunks and parses them with
        orjson and the time by hand, as cheap per event as the gRPC side's
        FromString, so the figure measures the server.
Rule 3: only the watched conference's events count; an event counts as lost
        only if it never arrives within `drain` seconds.
Rule 4: it runs at nice 10, below the writer on the load CPU (see bench.watch).
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import grpc
import orjson

from bench import target
from bench.stream_round import Round
from bench.target import AUTHORIZATION, METADATA, SERVICE
from rollcall.v1 import participant_service_pb2 as pb

STREAMS_PER_CHANNEL = 100


def _sse_frame(raw: bytes) -> tuple[bytes, bytes]:
    """An SSE frame's event name and data (one `data:` line, as Rollcall sends)."""
    name = data = b""
    for line in raw.split(b"\n"):
        if line.startswith(b"event: "):
            name = line[7:]
        elif line.startswith(b"data: "):
            data = line[6:]
    return name, data


def _nanos(stamp: str) -> int:
    """An RFC 3339 UTC time (`...T12:34:56[.fraction]Z`, as the stream sends) in ns."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


async def watchers(spec: dict[str, Any]) -> dict[str, Any]:
    os.nice(10)  # below the writer on the load CPU (see bench.watch)
    n = int(spec["streams"])
    sid = spec["conference_sid"]
    round_ = Round(n)
    started, snapshot, event, errors = round_.started, round_.snapshot, round_.event, round_.errors
    streams = round_.streams

    request = pb.WatchAccountRequest(parent=f"accounts/{target.ACCOUNT_SID}").SerializeToString()
    channels = [
        grpc.aio.insecure_channel(spec["target"], options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range((n + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
        if spec["mode"] == "account"
    ]
    methods = [ch.unary_stream(SERVICE + "WatchAccount") for ch in channels]

    async def follow_grpc(i: int) -> None:
        state = streams[i]
        call = methods[i // STREAMS_PER_CHANNEL](request, metadata=METADATA)
        try:
            async for raw in call:
                item = pb.WatchAccountResponse.FromString(raw)
                kind = item.WhichOneof("item")
                if kind == "event":
                    received_at = time.time()
                    e = item.event
                    if e.conference.conference_sid == sid and event(
                        state, e.revision, e.time.ToNanoseconds(), received_at
                    ):
                        return
                elif kind == "conference_snapshot":
                    c = item.conference_snapshot.conference
                    if c.conference_sid == sid:
                        snapshot(state, c.revision)
                elif kind == "snapshot_complete":
                    started(state)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED or not state.ready:
                errors.append(f"{exc.code().name}: {exc.details()}")
        finally:
            started(state)  # a stream that ended before its snapshot did: counted, never waited for

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
    )
    port = spec.get("http_port", 0)
    url = f"http://127.0.0.1:{port}/rollcall/v1/accounts/{target.ACCOUNT_SID}/events"

    async def follow_sse(i: int) -> None:
        # Parsed as cheaply as the gRPC side's FromString: whole frames split
        # from the chunks as they come, orjson, the time by hand (not
        # Timestamp.FromJsonString), so the figure measures the server.
        state = streams[i]
        pending = b""
        try:
            async with session.get(url, headers={"Authorization": AUTHORIZATION}) as response:
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}")
                async for chunk in response.content.iter_any():
                    received_at = time.time()
                    pending += chunk
                    *frames, pending = pending.split(b"\n\n")
                    for raw in frames:
                        name, data = _sse_frame(raw)
                        if name == b"change":
                            change = orjson.loads(data)
                            if change["conference"]["sid"] == sid and event(
                                state, change["revision"], _nanos(change["time"]), received_at
                            ):
                                return
                        elif name == b"conference":
                            found = orjson.loads(data)
                            if found["conference"]["sid"] == sid:
                                snapshot(state, found["revision"])
                        elif name == b"snapshot-complete":
                            started(state)
                        elif name == b"stream-error":
                            raise RuntimeError(data.decode())
        except (aiohttp.ClientError, RuntimeError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            started(state)  # as for gRPC

    follow = follow_grpc if spec["mode"] == "account" else follow_sse

    async def close() -> None:
        for ch in channels:
            await ch.close()
        await session.close()

    tasks = [asyncio.create_task(follow(i)) for i in range(n)]
    result = await round_.finish(tasks, close, float(spec["drain"]))
    missing = sum(1 for s in streams if s.start is None)
    if missing:
        message = f"{missing} streams had no snapshot of the watched conference"
        result["errors"] = [*result["errors"], message][:5]
    return result
