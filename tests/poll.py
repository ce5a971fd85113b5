"""Waiting on a condition that no event signals.

What it owns: the one bounded poll the tests use where nothing can notify
them (a second server process, a metrics counter, a server's health). It
orders nothing: it re-checks a condition until it holds, and fails naming
what never happened once `seconds` have passed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

INTERVAL_SECONDS = 0.02


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, seconds: float = 20.0
) -> None:
    async def holds() -> bool:
        result = check()
        return bool(await result) if inspect.isawaitable(result) else bool(result)

    async def loop() -> None:
        while not await holds():  # noqa: ASYNC110 (nothing to wait on: see the module)
            await asyncio.sleep(INTERVAL_SECONDS)

    try:
        await asyncio.wait_for(loop(), seconds)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
