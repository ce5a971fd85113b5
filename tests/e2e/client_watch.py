"""Watching through the Python client against a real server: a Collector of what a
watch passed on, a client for a server's target, two answered participants."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from clients.client import AsyncRollcallClient
from clients.watch_items import (
    EventItem,
    InitialStateComplete,
    WatchItem,
)
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN

TIMEOUT = 20.0


def client_for(target: str) -> AsyncRollcallClient:
    return AsyncRollcallClient(target, ACCOUNT_SID, AUTH_TOKEN, timeout=TIMEOUT)


class Collector:
    """Consumes a watch in a task; tests wait for conditions on what arrived."""

    def __init__(self, items: AsyncIterator[WatchItem]) -> None:
        self.items: list[WatchItem] = []
        self.finished = False
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._consume(items))

    async def _consume(self, items: AsyncIterator[WatchItem]) -> None:
        try:
            async for item in items:
                async with self._changed:
                    self.items.append(item)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self.finished = True
                self._changed.notify_all()

    async def until(self, predicate: Callable[[Sequence[WatchItem]], bool]) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.items) or self.finished)

        await asyncio.wait_for(wait(), TIMEOUT)
        if not predicate(self.items):
            await self.task  # raises what ended the watch
            raise AssertionError(f"watch ended early: {self.items}")

    async def until_revision(self, revision: int) -> None:
        await self.until(lambda items: any(_revision(i) == revision for i in items))

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _revision(item: WatchItem) -> int | None:
    if isinstance(item, EventItem | InitialStateComplete):
        return item.revision
    return None


def event_revisions(items: Sequence[WatchItem]) -> list[int]:
    return [item.revision for item in items if isinstance(item, EventItem)]


async def connected_pair(
    rollcall: AsyncRollcallClient, advance: Callable[[float], Awaitable[None]]
) -> str:
    """Two answered participants (so a restart resumes rather than fails their calls)."""
    agent = await rollcall.create_participant(
        "room", from_endpoint="+15005550006", to_endpoint="+15551230000", label="agent"
    )
    await rollcall.create_participant(
        "room", from_endpoint="+15005550006", to_endpoint="+15551230001", label="customer"
    )
    await advance(3)
    return agent.conference_sid
