"""The coroutines a RollcallClient hands its private event loop, from the caller's thread.

Rule 1: whatever is bound to the loop (a grpc.aio channel, a coroutine, a task)
        is made on the loop (on_loop, start_task), never in the caller's thread.
Rule 2: an iterator is driven one item at a time (next_item); a waiter
        interrupted (Ctrl-C) has its task cancelled and unwound before the
        async generator is closed (stop_iterating).
Rule 3: cancel_the_rest cancels every other task of the loop and shuts its
        async generators down, so the loop can stop with nothing pending.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["cancel_the_rest", "next_item", "on_loop", "start_task", "stop_iterating", "task_result"]

_T = TypeVar("_T")


async def on_loop(factory: Callable[[], _T]) -> _T:
    # A grpc.aio channel belongs to the loop it was made on: build it there.
    return factory()


async def next_item(iterator: AsyncIterator[_T]) -> tuple[bool, _T | None]:
    try:
        return True, await anext(iterator)
    except StopAsyncIteration:
        return False, None


async def start_task(factory: Callable[[], Coroutine[Any, Any, _T]]) -> asyncio.Task[_T]:
    # The coroutine is made here, on the loop: one made by the caller's thread
    # would be left never awaited if close() stopped the loop before this ran.
    return asyncio.ensure_future(factory())


async def task_result(task: asyncio.Task[_T]) -> _T:
    return await task


async def stop_iterating(
    task: asyncio.Task[Any] | None, generator: AsyncGenerator[Any, None]
) -> None:
    # A waiter interrupted (Ctrl-C) leaves anext running: cancel it and let it
    # unwind before closing the generator, which cannot close while it runs.
    if task is not None and not task.done():
        task.cancel()
        await asyncio.wait([task])
    # RuntimeError: interrupted before its task was known; it still runs, and
    # close() of the client cancels it.
    with contextlib.suppress(RuntimeError):
        await generator.aclose()


async def cancel_the_rest() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    await asyncio.get_running_loop().shutdown_asyncgens()
