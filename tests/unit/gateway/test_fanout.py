"""service.gateway.fanout: connections at one cursor share one stream; other
kinds never share; a follower gets exactly what comes after its cursor; a
slow one, one whose client left, and every one at the stream's end are let go
at the last frame written to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import IDLE, PARK, AccountEvent
from service.core import errors
from service.gateway import fanout
from service.gateway.fanout import Fanout
from service.gateway.upstream import WatchItem
from tests.poll import eventually


class _Transport(asyncio.Transport):
    """What the fanout uses of a connection's transport, recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False
        self.unsent = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def body(self) -> bytes:
        return b"".join(self.written)


class _Stream:
    """A stream of one connection: fed by the test, parked by the fanout."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[WatchItem | Exception | None] = asyncio.Queue()
        self.parked = False
        self.closed = False
        self.items = self._run()

    async def _run(self) -> AsyncGenerator[WatchItem, object]:
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                if (yield item) is PARK:
                    self.parked = True
                    while True:
                        yield IDLE
        finally:
            self.closed = True

    def feed(self, *items: WatchItem | Exception | None) -> None:
        for item in items:
            self.queue.put_nowait(item)


async def _waiting() -> _Stream:
    """A stream about to wait, as the fanout is offered one (at its IDLE)."""
    stream = _Stream()
    stream.feed(IDLE)
    assert await anext(stream.items) is IDLE
    return stream


def _encode(item: pb.WatchAccountResponse | AccountEvent) -> bytes:
    return f"[{item.cursor}]".encode()


def _event(cursor: str) -> AccountEvent:
    return AccountEvent(b"", cursor)


KIND = ("AC1", "Basic x", "", (), (), ())
OTHER_KIND = ("AC1", "Basic x", "sales-", (), (), ())


async def test_one_cursor_one_stream_other_filters_their_own() -> None:
    hub = Fanout(_encode)
    first, second, other = await _waiting(), await _waiting(), await _waiting()
    t1, t2, t3 = _Transport(), _Transport(), _Transport()
    f1 = await hub.follow(KIND, "c0", first.items, t1, chunked=False)
    f2 = await hub.follow(KIND, "c0", second.items, t2, chunked=False)
    f3 = await hub.follow(OTHER_KIND, "c0", other.items, t3, chunked=False)
    assert f1 is not None and f2 is not None and f3 is not None
    assert second.parked and not first.parked  # the first one's is the shared stream now
    assert len(hub.shared) == 2
    first.feed(_event("c1"), _event("c2"), IDLE)
    other.feed(_event("s1"), IDLE)
    await eventually(lambda: bool(t1.written and t3.written), "t1.written and t3.written")
    assert t1.written == t2.written == [b"[c1][c2]"]  # one write per batch
    assert t3.written == [b"[s1]"]  # other filters: never the others' frames
    assert (f1.cursor, f2.cursor, f3.cursor) == ("c2", "c2", "s1")


async def test_a_connection_joins_only_at_the_shared_cursor() -> None:
    hub = Fanout(_encode)
    leader, late, behind = await _waiting(), await _waiting(), await _waiting()
    t1, t2 = _Transport(), _Transport()
    assert await hub.follow(KIND, "c0", leader.items, t1, chunked=False) is not None
    leader.feed(_event("c1"), IDLE)
    await eventually(lambda: bool(t1.written), "bool(t1.written)")
    # Behind the shared stream: it reads on its own.
    assert await hub.follow(KIND, "c0", behind.items, _Transport(), chunked=False) is None
    assert not behind.parked
    # At its cursor: what follows, and nothing before.
    joined = await hub.follow(KIND, "c1", late.items, t2, chunked=True)
    assert joined is not None and late.parked
    leader.feed(_event("c2"), _event("c3"), IDLE)
    await eventually(lambda: bool(t2.written), "bool(t2.written)")
    assert t2.written == [b"8\r\n[c2][c3]\r\n"]  # chunked as the response began
    assert t1.body() == b"[c1][c2][c3]"


async def test_a_slow_follower_is_let_go_and_holds_up_no_one() -> None:
    hub = Fanout(_encode)
    leader, slow = await _waiting(), await _waiting()
    quick_transport, slow_transport = _Transport(), _Transport()
    quick = await hub.follow(KIND, "c0", leader.items, quick_transport, chunked=False)
    lagging = await hub.follow(KIND, "c0", slow.items, slow_transport, chunked=False)
    assert quick is not None and lagging is not None
    leader.feed(_event("c1"), IDLE)
    await eventually(lambda: bool(slow_transport.written), "bool(slow_transport.written)")
    slow_transport.unsent = fanout._BEHIND + 1
    leader.feed(_event("c2"), IDLE)
    # Let go at the last frame written to it: it resumes after c1 on its own.
    assert await lagging.done is True and lagging.cursor == "c1"
    assert slow_transport.written == [b"[c1]"]
    await eventually(
        lambda: quick_transport.body() == b"[c1][c2]", "quick_transport.body() == b'[c1][c2]'"
    )
    assert not quick.done.done()


async def test_a_follower_whose_client_left_is_dropped() -> None:
    hub = Fanout(_encode)
    leader, gone = await _waiting(), await _waiting()
    kept_transport, gone_transport = _Transport(), _Transport()
    kept = await hub.follow(KIND, "c0", leader.items, kept_transport, chunked=False)
    left = await hub.follow(KIND, "c0", gone.items, gone_transport, chunked=False)
    assert kept is not None and left is not None
    gone_transport.closing = True
    leader.feed(_event("c1"), IDLE)
    assert await left.done is False
    assert gone_transport.written == [] and kept_transport.written == [b"[c1]"]


async def test_at_the_shared_streams_end_everyone_resumes_after_its_last_frame() -> None:
    hub = Fanout(_encode)
    leader, other = await _waiting(), await _waiting()
    t1, t2 = _Transport(), _Transport()
    f1 = await hub.follow(KIND, "c0", leader.items, t1, chunked=False)
    f2 = await hub.follow(KIND, "c0", other.items, t2, chunked=False)
    assert f1 is not None and f2 is not None
    # Held events go out before the failure, as they would on one stream.
    leader.feed(_event("c1"), errors.cursor_expired("gone"))
    assert await f1.done is True and await f2.done is True
    assert (f1.cursor, f2.cursor) == ("c1", "c1")
    assert t1.written == t2.written == [b"[c1]"]
    await eventually(lambda: leader.closed, "leader.closed")
    assert hub.shared == {}


async def test_a_shared_stream_nobody_follows_is_closed() -> None:
    hub = Fanout(_encode)
    leader = await _waiting()
    follower = await hub.follow(KIND, "c0", leader.items, _Transport(), chunked=False)
    assert follower is not None
    leader.feed(_event("c1"), IDLE)
    hub.leave(KIND, follower)
    await eventually(lambda: leader.closed and not hub.shared, "leader.closed and not hub.shared")
