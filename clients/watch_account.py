"""A WatchAccount stream that survives disconnects, dead links and server restarts.

Rule 1: across any number of broken streams, the caller gets every event
after the cursor it holds, each once, or is told to start over. The client
keeps the cursor of the last item that carried one (the snapshot's end, each
event, each progress marker) and resumes from it, on whatever replica
answers.
Rule 2: reconnecting is clients.watch's: transient errors and silent streams
are retried with jittered backoff; OUT_OF_RANGE CURSOR_EXPIRED (or a
snapshot cut short) asks for a new snapshot at once; once a new stream
delivers its first item, one Reconnected item ("resumed" or "resnapshot",
revision None) comes first.
Rule 3: an account watch never ends by itself; any other error raises
RollcallClientError.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

import grpc

from clients.errors import RollcallClientError
from clients.floor import AccountItem, account_item
from clients.watch import (
    DEFAULT_PROGRESS_SECONDS,
    IDLE_INTERVALS,
    _client_closed,
    _describe,
    _Silent,
    _within,
    announced_interval,
    backoff_delay,
    is_transient,
)
from clients.watch_items import Reconnected
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["watch_account_stream"]

# (request, wait_for_ready) -> a grpc.aio UnaryStreamCall of serialized responses.
OpenCall = Callable[[pb.WatchAccountRequest, bool], Any]
log = logging.getLogger("rollcall.client")


def _start_over(error: RollcallClientError) -> bool:
    return error.code == "OUT_OF_RANGE" and error.reason == "CURSOR_EXPIRED"


async def watch_account_stream(
    open_call: OpenCall,
    request: pb.WatchAccountRequest,
    *,
    reconnect: bool = True,
    max_backoff: float = 5.0,
    idle_timeout: float | None = None,
    closed: Callable[[], bool] = lambda: False,
) -> AsyncGenerator[AccountItem, None]:
    """Items of `request`'s account watch, reopening the stream as the module says."""
    cursor = request.cursor or None
    pending: Reconnected | None = None
    failures = 0
    while True:
        if closed():
            raise _client_closed()
        attempt = pb.WatchAccountRequest()
        attempt.CopyFrom(request)
        attempt.cursor = cursor or ""
        call = open_call(attempt, pending is not None)
        try:
            silence = idle_timeout or IDLE_INTERVALS * DEFAULT_PROGRESS_SECONDS
            metadata = await _within(silence, call.initial_metadata())
            if idle_timeout is None:
                silence = IDLE_INTERVALS * (
                    announced_interval(metadata) or DEFAULT_PROGRESS_SECONDS
                )
            responses = aiter(call)
            while (data := await _within(silence, anext(responses, None))) is not None:
                response = pb.WatchAccountResponse.FromString(data)
                failures = 0
                if response.WhichOneof("item") is None:
                    continue  # a kind of item added after this client was built
                item = account_item(response)
                if pending is not None:
                    yield pending
                    pending = None
                if response.cursor:
                    cursor = response.cursor
                elif response.WhichOneof("item") == "event":
                    cursor = None  # past the size a cursor carries: start over if lost
                yield item
            raise RollcallClientError("UNAVAILABLE", "STREAM_ENDED", "the server ended the stream")
        except (grpc.RpcError, _Silent, RollcallClientError) as exc:
            if closed():
                raise _client_closed() from exc
            if isinstance(exc, _Silent):
                error, transient = exc.error(), True
            elif isinstance(exc, RollcallClientError):
                error, transient = exc, True
            else:
                error = RollcallClientError.from_rpc_error(exc)
                transient = is_transient(exc)
            if not reconnect:
                raise error from exc
            expired = _start_over(error)
            if not expired and not transient:
                raise error from exc
            if expired:
                cursor = None
            pending = Reconnected(
                "resnapshot" if cursor is None else "resumed",
                None,
                error,
                attempts=pending.attempts + 1 if pending is not None else 1,
            )
            if expired:
                log.warning("account watch: cursor expired; starting over from a snapshot")
            elif pending.attempts == 1:
                log.warning("account watch: stream lost (%s); reconnecting", _describe(error))
            if not expired:
                await asyncio.sleep(backoff_delay(failures, max_backoff))
                failures += 1
        finally:
            call.cancel()
