"""Changes that outlive their caller: run apart from it, tracked until done.

Rule 1: a change is all or nothing whatever its caller does: each change runs
in its own task, and the caller waits for it.
Rule 2: a cancelled caller (a gRPC deadline, a client that hung up, a server
stopping) cancels the change only while it has not started its transaction,
so it leaves no trace; once started it runs on, through its commit and
everything the commit promises (placing calls, hangups, announcements), with
nobody waiting.
Rule 3: every such task is tracked, so a stopping server waits for them, and
a failure nobody is left to hear is logged.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from service.core.errors import RollcallError

log = logging.getLogger("rollcall.core")

T = TypeVar("T")


class _Ticket:
    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


_current: contextvars.ContextVar[_Ticket | None] = contextvars.ContextVar(
    "rollcall_change_ticket", default=None
)


def started() -> None:
    """Called first inside a change's transaction: from here it runs to its end."""
    ticket = _current.get()
    if ticket is not None:
        ticket.started = True


class ChangeRunner:
    """The tasks running changes; `orphans` counts those whose caller left."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self.orphans = 0

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        ticket = _Ticket()

        async def body() -> T:
            _current.set(ticket)
            return await work()

        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(body())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            if not ticket.started:
                task.cancel()
                raise
            self.orphans += 1
            task.add_done_callback(self._orphan_done)
            raise

    async def track(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run a change in the current task (one no caller can cancel, such as
        a carrier timer's), tracked so that `drain` waits for it."""
        task = asyncio.current_task()
        assert task is not None
        mine = task not in self._tasks  # not already tracked (a change within a change)
        if mine:
            self._tasks.add(task)
        try:
            return await work()
        finally:
            if mine:
                self._tasks.discard(task)

    def _orphan_done(self, task: asyncio.Task[object]) -> None:
        self.orphans -= 1
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not _expected(error):
            log.error("a change whose caller had gone failed", exc_info=error)

    async def settle(self) -> None:
        """Wait for the changes running now to end (not for ones they start)."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def drain(self) -> None:
        """Wait until no change is running."""
        while self._tasks:
            await self.settle()


def _expected(error: BaseException) -> bool:
    return isinstance(error, RollcallError)
