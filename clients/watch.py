"""A WatchConference stream that survives disconnects and server restarts.

The rule it keeps: across any number of broken streams, the caller gets every
event after the revision it holds, in revision order, exactly once, or is told
to start over. The client tracks the last revision the stream covered (from
the snapshot's end, each event and each progress marker); when the stream
breaks for a transient reason it opens a new one after that revision, with
jittered exponential backoff, and the new stream waits for the channel to be
ready (rather than failing fast) so it starts the moment the server is back;
when the server no longer holds those events
(OUT_OF_RANGE, REVISION_COMPACTED) or a snapshot was cut short, it asks for a
new snapshot. Once a new stream delivers its first item, one Reconnected item
comes first: kind "resumed" (keep your state) or "resnapshot" (drop it, the
snapshot follows), whatever number of attempts it took. A stream the server
closes OK (the conference ended) ends the iteration; any other error raises
RollcallClientError.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Callable
from typing import Any

import grpc

from clients.errors import RollcallClientError
from clients.watch_items import (
    EventItem,
    InitialStateComplete,
    ProgressItem,
    Reconnected,
    WatchItem,
    watch_item,
)
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["backoff_delay", "is_transient", "watch_stream"]

# Codes a healthy server may end a stream with while restarting, draining or
# recycling connections: the same stream, reopened, will work.
_TRANSIENT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_FIRST_BACKOFF = 0.1

# (request, wait_for_ready) -> a grpc.aio UnaryStreamCall of serialized responses.
OpenCall = Callable[[pb.WatchConferenceRequest, bool], Any]
log = logging.getLogger("rollcall.client")


def is_transient(error: grpc.RpcError) -> bool:
    """True for errors a new stream may not hit: UNAVAILABLE, DEADLINE_EXCEEDED,
    CANCELLED (a local cancel never gets here), and INTERNAL without our
    google.rpc.Status (a transport failure, not the service's own error)."""
    code = error.code()
    if code in _TRANSIENT_CODES:
        return True
    if code is grpc.StatusCode.INTERNAL:
        trailers = error.trailing_metadata() or ()
        return not any(key == _STATUS_DETAILS_KEY for key, _ in trailers)
    return False


def backoff_delay(failures: int, max_backoff: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after `failures` consecutive failed streams: doubling
    from 0.1 s, capped at max_backoff, then jittered into its upper half."""
    ceiling = min(max_backoff, _FIRST_BACKOFF * 2.0 ** min(failures, 32))
    return ceiling * (0.5 + (rng or random).random() / 2)


def _client_closed() -> RollcallClientError:
    return RollcallClientError("CANCELLED", "CLIENT_CLOSED", "the client was closed")


def _describe(error: RollcallClientError) -> str:
    reason = "" if error.reason == error.code else f" {error.reason}"
    return f"{error.code}{reason}: {error.message}"


def _is_compacted(error: RollcallClientError) -> bool:
    return error.code == "OUT_OF_RANGE" and error.reason == "REVISION_COMPACTED"


async def watch_stream(
    open_call: OpenCall,
    request: pb.WatchConferenceRequest,
    *,
    reconnect: bool = True,
    max_backoff: float = 5.0,
    closed: Callable[[], bool] = lambda: False,
) -> AsyncGenerator[WatchItem, None]:
    """Items of `request`'s watch, reopening the stream as the module says.

    open_call starts one WatchConference call; closed tells whether the client
    was closed, which ends reconnecting with RollcallClientError CANCELLED /
    CLIENT_CLOSED. The first loss of each outage is logged as a warning on
    the "rollcall.client" logger (the CLI's stderr by default).
    """
    revision: int | None = (
        request.resume_after_revision if request.HasField("resume_after_revision") else None
    )
    pending: Reconnected | None = None
    failures = 0
    while True:
        if closed():
            raise _client_closed()
        attempt = pb.WatchConferenceRequest()
        attempt.CopyFrom(request)
        if revision is None:
            attempt.ClearField("resume_after_revision")
        else:
            attempt.resume_after_revision = revision
        call = open_call(attempt, pending is not None)
        try:
            async for data in call:
                response = pb.WatchConferenceResponse.FromString(data)
                failures = 0
                if response.WhichOneof("item") is None:
                    continue  # a kind of item added after this client was built
                item = watch_item(response)
                if pending is not None:
                    # Only now is the new stream known to work (a resume can
                    # still be refused as compacted): one notice per recovery.
                    yield pending
                    pending = None
                if isinstance(item, EventItem):
                    if revision is not None and item.revision <= revision:
                        continue  # never repeat an event the caller has
                    revision = item.revision
                elif isinstance(item, InitialStateComplete):
                    revision = item.revision
                elif isinstance(item, ProgressItem):
                    revision = item.revision if revision is None else max(revision, item.revision)
                yield item
            if pending is not None:  # resumed at the very end of an ended conference
                yield pending
            return  # closed OK: the conference ended
        except grpc.RpcError as exc:
            if closed():
                raise _client_closed() from exc
            error = RollcallClientError.from_rpc_error(exc)
            if not reconnect:
                raise error from exc
            compacted = _is_compacted(error)
            if not compacted and not is_transient(exc):
                raise error from exc
            lost = pending.revision if pending is not None and revision is None else revision
            if compacted:
                revision = None
            pending = Reconnected(
                "resnapshot" if revision is None else "resumed",
                lost,
                error,
                attempts=pending.attempts + 1 if pending is not None else 1,
            )
            if compacted:
                log.warning(
                    "watch of %s: history after r%s compacted; re-snapshotting",
                    request.parent,
                    lost,
                )
            elif pending.attempts == 1:
                log.warning(
                    "watch of %s: stream lost (%s); reconnecting", request.parent, _describe(error)
                )
            if not compacted:  # a snapshot request right away cannot be compacted
                await asyncio.sleep(backoff_delay(failures, max_backoff))
                failures += 1
        finally:
            call.cancel()
