"""SSE connections of one kind (Rule 4) at one cursor share one stream (gateway.events Rule 9).

Rule 1: a connection reads a stream of its own until that stream is about to
        wait (IDLE) at a cursor. If the shared stream of its kind has sent
        exactly up to that cursor, the connection follows it from there and
        parks its own (rpc.account_stream Rule 4): a cursor names one position
        with its filters (rpc.account_cursor), and what any stream sends after
        it is every later event once, in order, so the connection stays
        gap-free. If there is no shared stream of its kind, its own becomes
        the shared stream, read by a task of its own.
Rule 2: a shared stream's items are framed once (gateway.events.encode) and
        written to each follower's transport when the stream is about to
        wait: one write per follower per batch, and no task per follower
        wakes. A response is chunked as aiohttp began it.
Rule 3: a follower whose transport holds more than _BEHIND unsent bytes (a
        slow client) is let go, as every follower is when the shared stream
        ends (an error, shutdown, a token's expiry): its connection resumes a
        stream of its own after the last frame written to it. A follower
        whose client left is dropped. A shared stream nobody follows is
        closed.
Rule 4: the key holds the account, the credentials and the filters; the
        gateway never shares a stream opened with a watch token (each ends
        when its own token expires).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import PARK, AccountEvent, Idle
from service.gateway.upstream import WatchItem

# A follower with more than this unsent in its transport is let go (Rule 3).
_BEHIND = 1 << 20
# Frames held before a write although the stream has not waited yet.
_FLUSH_BYTES = 65536

Key = tuple[object, ...]
Encode = Callable[[pb.WatchAccountResponse | AccountEvent], bytes]


class Follower:
    """One connection following a shared stream: `done` resolves True when it
    is let go (resume from `cursor`), False when its client left."""

    __slots__ = ("chunked", "cursor", "done", "parked", "transport")

    def __init__(self, transport: asyncio.Transport, chunked: bool, cursor: str) -> None:
        self.transport = transport
        # The connection's own stream, parked, for the connection to close.
        self.parked: AsyncIterator[WatchItem] | None = None
        self.chunked = chunked
        self.cursor = cursor
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def end(self, resume: bool) -> None:
        if not self.done.done():
            self.done.set_result(resume)


class Shared:
    """One stream read by its own task for every follower (Rules 1 to 3)."""

    def __init__(
        self, fanout: Fanout, key: Key, items: AsyncIterator[WatchItem], cursor: str
    ) -> None:
        self.fanout = fanout
        self.key = key
        self.items = items
        self.cursor = cursor
        self.followers: list[Follower] = []
        self.started = False
        self.task = asyncio.create_task(self._pump())
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Also when cancelled before it began (then nothing of _pump ran)."""
        self.fanout.ended(self)
        for follower in self.followers:
            follower.end(True)
        self.followers = []
        if not self.started:
            self.fanout.closing(self.items)

    def _send(self, data: bytes, cursor: str) -> None:
        chunk = b"%x\r\n%b\r\n" % (len(data), data)
        kept = []
        for follower in self.followers:
            transport = follower.transport
            if transport.is_closing():
                follower.end(False)
            elif transport.get_write_buffer_size() > _BEHIND:
                follower.end(True)
            else:
                transport.write(chunk if follower.chunked else data)
                follower.cursor = cursor
                kept.append(follower)
        self.followers = kept
        self.cursor = cursor

    async def _pump(self) -> None:
        self.started = True
        held: list[bytes] = []
        size = 0
        cursor = self.cursor
        try:
            async for item in self.items:
                if type(item) is not Idle:
                    framed = self.fanout.encode(item)
                    held.append(framed)
                    size += len(framed)
                    cursor = item.cursor or cursor
                    if type(item) is AccountEvent and size < _FLUSH_BYTES:
                        continue
                if held:
                    self._send(b"".join(held), cursor)
                    held.clear()
                    size = 0
                if not self.followers:
                    return
        except Exception:  # noqa: S110 (each follower resumes on its own and meets it there)
            pass
        finally:
            if held:  # what came before the end is every follower's, as for one stream
                self._send(b"".join(held), cursor)
            self.fanout.ended(self)
            for follower in self.followers:
                follower.end(True)
            self.followers = []
            close = getattr(self.items, "aclose", None)
            if close is not None:
                await close()


class Fanout:
    """The shared streams of one gateway, by kind (Rule 1)."""

    def __init__(self, encode: Encode) -> None:
        self.encode = encode
        self.shared: dict[Key, Shared] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def closing(self, items: AsyncIterator[WatchItem]) -> None:
        """Close a stream no task reads any more, in a task of its own."""
        close = getattr(items, "aclose", None)
        if close is not None:
            task = asyncio.ensure_future(close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def follow(
        self,
        key: Key,
        cursor: str,
        items: AsyncIterator[WatchItem],
        transport: asyncio.Transport,
        chunked: bool,
    ) -> Follower | None:
        """A Follower when this connection, waiting at `cursor`, now follows
        a shared stream: then `items` is parked or handed over, and closed by
        this module. None: read `items` on."""
        if not cursor or transport.is_closing() or not isinstance(items, AsyncGenerator):
            return None
        shared = self.shared.get(key)
        if shared is None or shared.task.done():
            follower = Follower(transport, chunked, cursor)
            shared = self.shared[key] = Shared(self, key, items, cursor)
            shared.followers.append(follower)
            return follower
        if shared.cursor != cursor:
            return None
        follower = Follower(transport, chunked, cursor)
        shared.followers.append(follower)
        # Parked, not closed: it still counts against the account's watchers
        # until its connection closes it.
        follower.parked = items
        await items.asend(PARK)
        return follower

    def leave(self, key: Key, follower: Follower) -> None:
        shared = self.shared.get(key)
        if shared is not None and follower in shared.followers:
            shared.followers.remove(follower)
            if not shared.followers:
                shared.task.cancel()

    def ended(self, shared: Shared) -> None:
        if self.shared.get(shared.key) is shared:
            del self.shared[shared.key]

    async def close(self) -> None:
        """At shutdown: every shared stream ends (its followers are let go)."""
        tasks = [shared.task for shared in self.shared.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
