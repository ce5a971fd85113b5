"""Concurrent reads of one shape, sent to the database together as one statement.

Rule 1: a read that finds no batch of its shape waiting opens one. The batch
        goes out on the loop's next turn when fewer than `flights` batches are
        out, else as soon as one comes back; reads of its shape that arrive
        before it goes out join it. No read ever waits on a timer, so a lone
        read costs one loop turn more than before, and under load a read
        shares its round trip with the others that queued behind a flight.
Rule 2: a batch goes out only after every read in it arrived, so each read sees
        every change committed before it was asked (a write acknowledged by any
        replica included), as a statement of its own would.
Rule 3: a batch's answers are handed out in the order its reads were asked.
Rule 4: a failed batch fails each of its reads with the same error; a reader
        that stops waiting leaves its answer unread, and the batch goes on for
        the others.
Rule 5: after `close`, reads not yet answered, and new ones, fail with the
        error `closed` builds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)
A = TypeVar("A")
R = TypeVar("R")


class Batches(Generic[S, A, R]):
    """`send(shape, asked)` answers a batch: one answer per asked read, in order."""

    def __init__(
        self,
        send: Callable[[S, list[A]], Awaitable[list[R]]],
        *,
        flights: int,
        closed: Callable[[], BaseException],
    ) -> None:
        if flights < 1:
            raise ValueError("flights must be at least 1")
        self._send = send
        self._flights = flights
        self._closed = closed
        self._out = 0
        self._waiting: dict[S, list[tuple[A, asyncio.Future[R]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._launch_due = False
        self._open = True

    async def read(self, shape: S, asked: A) -> R:
        """One read's answer (Rules 1-4)."""
        return await self.ask(shape, asked)

    def ask(self, shape: S, asked: A) -> asyncio.Future[R]:
        """`read`, its place in a batch taken at once: the future of its answer
        (cancelling it is the reader leaving, Rule 4). Needs a running loop."""
        if not self._open:
            raise self._closed()
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        batch = self._waiting.get(shape)
        if batch is None:
            self._waiting[shape] = batch = []
            if self._out < self._flights and not self._launch_due:
                self._launch_due = True
                loop.call_soon(self._launch)
        batch.append((asked, future))
        return future

    def _launch(self) -> None:
        self._launch_due = False
        loop = self._loop
        assert loop is not None
        while self._waiting and self._out < self._flights and self._open:
            shape = next(iter(self._waiting))
            batch = self._waiting.pop(shape)
            self._out += 1
            task = loop.create_task(self._fly(shape, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fly(self, shape: S, batch: list[tuple[A, asyncio.Future[R]]]) -> None:
        try:
            if all(future.done() for _, future in batch):
                return  # every reader stopped waiting (Rule 4)
            try:
                answers = await self._send(shape, [asked for asked, _ in batch])
            except asyncio.CancelledError:
                _fail(batch, self._closed())
                raise
            except Exception as exc:
                _fail(batch, exc)
                return
            if len(answers) != len(batch):
                _fail(batch, RuntimeError("a batch's answers do not match its reads"))
                return
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
        finally:
            self._out -= 1
            if self._waiting and self._open:
                self._launch()

    async def close(self) -> None:
        """Rule 5: fails what is not answered; batches in flight are cancelled."""
        self._open = False
        waiting, self._waiting = self._waiting, {}
        for batch in waiting.values():
            _fail(batch, self._closed())
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _fail(batch: list[tuple[A, asyncio.Future[R]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
