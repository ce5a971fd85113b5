"""Ctrl-C for the CLI's long-running commands (`watch`, `watch --all`, `floor`).

Rule 1: SIGINT cancels the command's coroutine at once, whichever thread of
        the process the kernel delivers it to, and the command then raises
        KeyboardInterrupt once its cleanup (closing the stream and the
        channel) has run.
Rule 2: the event loop hears of it through its own signal handling (the
        signal's wakeup descriptor wakes the loop's selector), never through
        a Python-level handler: that one runs only when the main thread next
        executes Python code, and grpc's threads (which can receive the
        signal) leave a main thread asleep in its selector until the next
        message, progress marker or timer, tens of seconds on a quiet stream.
Rule 3: where the loop cannot handle signals (Windows, a thread other than
        the main one), asyncio.run's own Ctrl-C handling stays in charge.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_interruptibly"]

_T = TypeVar("_T")


async def _guarded(main: Coroutine[Any, Any, _T]) -> _T:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError, ValueError):
        return await main  # Rule 3
    try:
        result = await main
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGINT)
    if interrupted:  # the command swallowed its cancellation: still a Ctrl-C
        raise KeyboardInterrupt
    return result


def run_interruptibly(main: Coroutine[Any, Any, _T]) -> _T:
    """asyncio.run(main), ended by Ctrl-C with KeyboardInterrupt (Rules 1-3)."""
    return asyncio.run(_guarded(main))
