"""A WatchConference stream that survives disconnects, dead links and server restarts.

Rule 1: across any number of broken streams, the caller gets every event
after the revision it holds, in revision order, exactly once, or is told to
start over. The client tracks the last revision the stream covered (from the
snapshot's end, each event and each progress marker).
Rule 2: a stream that breaks for a transient reason is reopened after that
revision, with jittered exponential backoff, and the new stream waits for the
channel to be ready (rather than failing fast) so it starts the moment the
server is back; when the server no longer holds those events (OUT_OF_RANGE,
REVISION_COMPACTED) or a snapshot was cut short, it asks for a new snapshot.
Rule 3: a stream that delivers nothing, not even a progress marker, for
IDLE_INTERVALS progress intervals is dead (a frozen link, a hung peer): it is
cancelled and reopened like a broken one (DEADLINE_EXCEEDED, STREAM_IDLE).
The interval is the one the server announces in the stream's initial
metadata (PROGRESS_INTERVAL_KEY), DEFAULT_PROGRESS_SECONDS until it has, or
a fixed idle_timeout given by the caller.
Rule 4: once a new stream delivers its first item, one Reconnected item comes
first: kind "resumed" (keep your state) or "resnapshot" (drop it, the
snapshot follows), whatever number of attempts it took.
Rule 5: a stream the server closes OK (the conference ended) ends the
iteration; any other error raises RollcallClientError.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

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

__all__ = [
    "DEFAULT_PROGRESS_SECONDS",
    "IDLE_INTERVALS",
    "PROGRESS_INTERVAL_KEY",
    "announced_interval",
    "backoff_delay",
    "is_transient",
    "watch_stream",
]

# The server's default progress interval (ROLLCALL_WATCH_PROGRESS_SECONDS),
# assumed until a stream announces its own.
DEFAULT_PROGRESS_SECONDS = 10.0
# Progress intervals without any item after which a stream is taken for dead.
IDLE_INTERVALS = 3
# The initial metadata key the server announces its progress interval in (ms).
PROGRESS_INTERVAL_KEY = "rollcall-progress-interval-ms"

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
_T = TypeVar("_T")


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


def announced_interval(metadata: Any) -> float | None:
    """The progress interval (seconds) a stream's initial metadata announces, if any."""
    for key, value in metadata or ():
        if key == PROGRESS_INTERVAL_KEY:
            try:
                milliseconds = int(value)
            except (TypeError, ValueError):
                return None
            return milliseconds / 1000 if milliseconds > 0 else None
    return None


class _Silent(Exception):
    """Nothing arrived on the stream within its idle timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds

    def error(self) -> RollcallClientError:
        return RollcallClientError(
            "DEADLINE_EXCEEDED",
            "STREAM_IDLE",
            f"no item or progress marker for {self.seconds:g} s",
        )


async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if deadline.expired():
            raise _Silent(seconds) from None
        raise


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
    idle_timeout: float | None = None,
    closed: Callable[[], bool] = lambda: False,
) -> AsyncGenerator[WatchItem, None]:
    """Items of `request`'s watch, reopening the stream as the module says.

    open_call starts one WatchConference call; idle_timeout (None: see Rule 3)
    is how long a stream may deliver nothing; closed tells whether the client
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
            # Silence is timed only while waiting on the server, never while
            # the caller holds an item.
            silence = idle_timeout or IDLE_INTERVALS * DEFAULT_PROGRESS_SECONDS
            metadata = await _within(silence, call.initial_metadata())
            if idle_timeout is None:
                silence = IDLE_INTERVALS * (
                    announced_interval(metadata) or DEFAULT_PROGRESS_SECONDS
                )
            responses = aiter(call)
            while (data := await _within(silence, anext(responses, None))) is not None:
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
        except (grpc.RpcError, _Silent) as exc:
            if closed():
                raise _client_closed() from exc
            if isinstance(exc, _Silent):
                error, transient = exc.error(), True
            else:
                error = RollcallClientError.from_rpc_error(exc)
                transient = is_transient(exc)
            if not reconnect:
                raise error from exc
            compacted = _is_compacted(error)
            if not compacted and not transient:
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
