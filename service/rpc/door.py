"""The door every RPC passes on its way in: the wait bound, and the stop's gate.

Rule 1: service.rpc.front asks the door about every call (in the one wrapper
        each method handler gets); while open, the door only keeps count: each
        call it lets in is tracked until its handler returns, so the stop knows
        what is still running.
Rule 2: once closed, every new RPC but a health Check is refused UNAVAILABLE
        (SHUTTING_DOWN) by the door itself, whatever its service; a health Check
        is still answered (NOT_SERVING by then).
Rule 3: `finish(grace)` waits for the unary calls let in, up to `grace`; then it
        ends what is left, streams included, UNAVAILABLE (SHUTTING_DOWN), never
        CANCELLED.
Rule 4: `hold()` then parks every new RPC unanswered until no call has arrived
        or been answered for a quiet spell: by then grpc has handed over every
        call it had accepted, and callers waiting on an answer send nothing new. `release()`
        answers the parked calls UNAVAILABLE (SHUTTING_DOWN); it is called once
        grpc has begun to stop (its GOAWAY is out and its port closed), so a
        caller's retry can no longer reach this server and is refused by the
        transport (UNAVAILABLE), not cancelled by grpc.
Rule 5: every refusal is counted in service.admission's REFUSED and noted for the
        RPC's log line.
Rule 6: while open, a unary call (health excepted) that has waited longer than
        `max_wait` before its handler (in grpc's queue, as service.rpc.queue_probe
        measures it) is refused RESOURCE_EXHAUSTED
        (OVERLOADED, retry after 1 s) before any work: served that late, its
        answer would come too late for an interactive caller, and the time is
        better spent on the calls behind it. Streams in flight are never shed.
        An overload episode is logged when it starts and when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from service.admission import REFUSED, TaskOf
from service.core import errors
from service.rpc.interceptors import note_reason
from service.rpc.status import to_grpc_status

log = logging.getLogger("rollcall.door")

HEALTH_CHECK = "/grpc.health.v1.Health/Check"

# How long no call may have arrived or been answered before the server's port
# closes (a caller's next call after an answer arrives well within it); and
# the longest the door waits for that (callers that never pause, none of ours
# among them, do not hold the stop up).
QUIET_SECONDS = 0.25
QUIET_LIMIT_SECONDS = 3.0

_INTERRUPTED = (
    "this server stopped before the call finished; retry elsewhere (a change it had"
    " begun is completed, so a retry with the same request_id or etag is safe)"
)


class State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    HOLDING = "holding"
    RELEASED = "released"


class Door:
    def __init__(self, waited: Callable[[str], float] | None = None, max_wait: float = 0.0) -> None:
        """`waited(method)`: at least how long a call of `method` taken from
        grpc now has waited there (service.rpc.queue_probe); a unary call
        whose wait before its handler exceeds `max_wait` seconds (0: never)
        is refused (Rule 6)."""
        self.state = State.OPEN
        self._waited = waited
        self.max_wait = max_wait
        # An overload episode: from the first call refused for its wait until
        # one is let in again.
        self._shedding = 0
        # Calls let in and still running: unary ones, and streams.
        self._unary: set[asyncio.Task[Any]] = set()
        self._streams: set[asyncio.Task[Any]] = set()
        self._interrupted: set[asyncio.Task[Any]] = set()
        self._task_of = TaskOf()
        self._unary_idle = asyncio.Event()
        self._unary_idle.set()
        self._all_idle = asyncio.Event()
        self._all_idle.set()
        self._released = asyncio.Event()
        # When a call last arrived or was answered, and what hold() waits on.
        self._last_activity = float("-inf")
        self._activity: asyncio.Event | None = None
        self.held = 0

    # -- per call (service.rpc.front runs these, in its one wrapper per method) --

    def refuses(self, method: str) -> bool:
        """Whether a new call of `method` is refused (Rules 1 and 2); every
        call counts as activity for hold()."""
        self._touch()
        state = self.state
        return not (state is State.OPEN or (state is State.CLOSED and method == HEALTH_CHECK))

    async def refuse(self, context: Any) -> None:
        """Answer a refused call UNAVAILABLE (SHUTTING_DOWN), once released
        while holding (Rules 2 and 4); always raises (the call is aborted)."""
        if self.state is State.HOLDING:
            self.held += 1
            try:
                await self._released.wait()
            finally:
                self.held -= 1
        REFUSED.labels("SHUTTING_DOWN").inc()
        try:
            await _refuse(context, errors.shutting_down())
        finally:
            self._touch()

    def overdue(self, method: str) -> float | None:
        """How long a unary call of `method` taken now has waited, when that is
        more than the bound (Rule 6); None when it is let in, which ends an
        overload episode."""
        if self.max_wait > 0 and self._waited is not None and method != HEALTH_CHECK:
            waited = self._waited(method)
            if waited > self.max_wait:
                return waited
        if self._shedding:
            log.info("no longer overloaded", extra={"refused": self._shedding})
            self._shedding = 0
        return None

    def enter(self, unary: bool) -> asyncio.Task[Any]:
        """The running call is let in (Rule 1): tracked until `leave`."""
        task = self._task_of()
        self._all_idle.clear()
        if unary:
            self._unary.add(task)
            self._unary_idle.clear()
        else:
            self._streams.add(task)
        return task

    def leave(self, task: asyncio.Task[Any]) -> None:
        self._touch()
        self._unary.discard(task)
        self._streams.discard(task)
        self._interrupted.discard(task)
        if not self._unary:
            self._unary_idle.set()
            if not self._streams:
                self._all_idle.set()

    async def interrupted(self, task: asyncio.Task[Any], context: Any) -> None:
        """A let-in call was cancelled: when finish() ended it, it is answered
        UNAVAILABLE (SHUTTING_DOWN), never CANCELLED (Rule 3; raises)."""
        if task in self._interrupted:
            task.uncancel()
            await _refuse(context, errors.shutting_down(_INTERRUPTED))

    def _touch(self) -> None:
        # time.monotonic, not the loop's time: on Python 3.11 every
        # get_running_loop() is a getpid() system call, and this runs twice a call.
        self._last_activity = time.monotonic()
        if self._activity is not None:
            self._activity.set()

    # -- overload (Rule 6) -----------------------------------------------------

    async def shed(self, context: Any, waited: float) -> None:
        """Refuse a call that waited too long (Rule 6; raises)."""
        REFUSED.labels("OVERLOADED").inc()
        if not self._shedding:
            log.warning(
                "overloaded: refusing calls that waited too long",
                extra={"waited": round(waited, 3), "limit": self.max_wait},
            )
        self._shedding += 1
        await _refuse(context, errors.waited_too_long(waited, self.max_wait))

    # -- the stop -------------------------------------------------------------

    def close(self) -> None:
        """From now on new RPCs are refused (Rule 2)."""
        if self.state is State.OPEN:
            self.state = State.CLOSED

    async def finish(self, grace: float) -> int:
        """Rule 3; returns how many calls had to be ended."""
        self.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._unary_idle.wait(), timeout=max(grace, 0.0))
        late = [*self._unary, *self._streams]
        for task in late:
            self._interrupted.add(task)
            task.cancel()
        if late:
            log.info("ending calls still open", extra={"n": len(late)})
            # Each ends at its next await; the answer is sent on the way out.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_idle.wait(), timeout=5)
        return len(late)

    async def hold(self, quiet: float = QUIET_SECONDS, limit: float = QUIET_LIMIT_SECONDS) -> None:
        """Rule 4: park new RPCs until none has arrived, and none been answered,
        for `quiet` seconds (at most `limit` seconds)."""
        self.close()
        self.state = State.HOLDING
        give_up = time.monotonic() + limit
        while True:
            now = time.monotonic()
            wake = min(self._last_activity + quiet, give_up)
            if now >= wake:
                break
            self._activity = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), timeout=wake - now)
        self._activity = None
        if time.monotonic() >= give_up:
            log.warning("calls kept arriving while the server stopped", extra={"held": self.held})

    def release(self) -> None:
        """Answer the parked calls (Rule 4); any later one is refused at once."""
        self.state = State.RELEASED
        self._released.set()


async def _refuse(context: Any, error: errors.RollcallError) -> None:
    note_reason(error.reason, error.code.value)
    await context.abort_with_status(to_grpc_status(error))
