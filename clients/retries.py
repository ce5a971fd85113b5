"""Retrying a call the server refused with RetryInfo (throttled or overloaded).

Rule 1: only calls safe to repeat (clients.channel.RETRIED_METHODS) are retried,
        and only on an error that carries RetryInfo: the server refused it
        before doing any work and said when to come back.
Rule 2: each retry waits the server's delay plus up to a fifth more (so the
        callers it turned away do not all come back at once), at most
        `attempts` retries, and never past the call's deadline: an error whose
        wait would end after it is raised at once.
Rule 3: every attempt gets what is left of the one deadline the caller set.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from clients.errors import RollcallClientError

__all__ = ["RETRY_INFO_ATTEMPTS", "call_retrying"]

RETRY_INFO_ATTEMPTS = 3
_T = TypeVar("_T")


async def call_retrying(
    attempt: Callable[[float | None], Awaitable[_T]],
    *,
    seconds: float | None,
    retry: bool,
    attempts: int = RETRY_INFO_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> _T:
    """attempt(seconds left of `seconds`, or None) until it succeeds or Rule 2
    says stop."""
    ends = None if seconds is None else clock() + seconds
    retries = 0
    while True:
        left = None if ends is None else max(ends - clock(), 0.0)
        try:
            return await attempt(left)
        except RollcallClientError as error:
            if not retry or error.retry_delay is None or retries >= attempts:
                raise
            wait = error.retry_delay * (1.0 + random.uniform(0.0, 0.2))
            if ends is not None and clock() + wait >= ends:
                raise
            retries += 1
            await sleep(wait)
