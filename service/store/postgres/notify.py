"""Waking other replicas: NOTIFY after commit, LISTEN on a dedicated connection.

Rule 1: a NOTIFY is never sent inside a write transaction (it would hold
        PostgreSQL's cluster-wide notify lock through the commit).
Rule 2: commits are announced afterwards, coalesced: changes that pile up while one
        NOTIFY is in flight go out together, only the newest revision per conference.
Rule 3: a notification only wakes watchers: the event table stays the truth, so
        after the listener reconnects, and on a slow poll, the watched conferences'
        revisions are re-read from the table.
Rule 4: a lost notification delays an event but never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

log = logging.getLogger("rollcall.store")

CHANNEL = "rollcall_changes"
# NOTIFY payloads must stay under 8000 bytes.
_PAYLOAD_MAX = 7000

Announce = Callable[[str, int], None]


class Notifier:
    """Sends committed (conference, revision) pairs, coalesced, off the write path."""

    def __init__(
        self, connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
    ) -> None:
        self._connection = connection
        self._pending: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            if self._pending:
                # Give what is queued one chance to go out before closing.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._send(self._take()), 2.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def changed(self, revisions: dict[str, int]) -> None:
        for sid, revision in revisions.items():
            if revision > self._pending.get(sid, 0):
                self._pending[sid] = revision
        if revisions:
            self._wake.set()

    def _take(self) -> dict[str, int]:
        pending, self._pending = self._pending, {}
        return pending

    async def _send(self, pending: dict[str, int]) -> None:
        payloads: list[str] = []
        current = ""
        for sid, revision in pending.items():
            item = f"{sid}:{revision}"
            if current and len(current) + len(item) + 1 > _PAYLOAD_MAX:
                payloads.append(current)
                current = ""
            current = f"{current},{item}" if current else item
        if current:
            payloads.append(current)
        async with self._connection() as conn:
            for payload in payloads:
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending = self._take()
            if not pending:
                continue
            try:
                await self._send(pending)
            except Exception:
                # Other replicas' slow poll picks these changes up.
                log.warning("could not notify other replicas", exc_info=True)


def parse(payload: str) -> list[tuple[str, int]]:
    found = []
    for item in payload.split(","):
        sid, _, revision = item.partition(":")
        with contextlib.suppress(ValueError):
            found.append((sid, int(revision)))
    return found


def _resolve(future: asyncio.Future[None], _conn: object) -> None:
    if not future.done():
        future.set_result(None)


class Listener:
    """LISTENs for other replicas' commits and re-reads after gaps.

    `announce(sid, revision)` is called for every notified change;
    `watched()` names the conferences someone follows here, whose revisions
    `revisions(sids)` re-reads after every (re)connect and every poll.
    """

    def __init__(
        self,
        dsn: str,
        connect_kwargs: dict[str, Any],
        announce: Announce,
        watched: Callable[[], Iterable[str]],
        revisions: Callable[[list[str]], Awaitable[dict[str, int]]],
        *,
        poll_seconds: float,
        reconnect_seconds: float = 0.5,
        name: str = "rollcall-listener",
    ) -> None:
        self._dsn = dsn
        settings = {**connect_kwargs.get("server_settings", {}), "application_name": name}
        self._kwargs = {**connect_kwargs, "server_settings": settings}
        self._announce = announce
        self._watched = watched
        self._revisions = revisions
        self._poll_seconds = poll_seconds
        self._reconnect_seconds = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        for sid, revision in parse(payload):
            self._announce(sid, revision)

    async def reread(self) -> None:
        sids = list(self._watched())
        if sids:
            for sid, revision in (await self._revisions(sids)).items():
                self._announce(sid, revision)

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn, **self._kwargs)
                lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                conn.add_termination_listener(functools.partial(_resolve, lost))
                await conn.add_listener(CHANNEL, self._on_notify)
                self.connected.set()
                # Whatever was committed while nobody listened.
                await self.reread()
                while not lost.done():
                    # asyncio.timeout, not wait_for: a stop's cancel is never lost.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_seconds):
                            await asyncio.shield(lost)
                    if not lost.done():
                        await self.reread()
                        # A cheap probe: a dead connection is noticed at once.
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("change listener lost its connection; reconnecting", exc_info=False)
            finally:
                self.connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            self.reconnects += 1
            await asyncio.sleep(self._reconnect_seconds)
