"""service.gateway.events, in process (Rule 8): frames are held until the
stream waits, written in bounded pieces when it is far behind, before a
failure's stream-error, and one slow client holds up only itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import cast

import pytest
from aiohttp import web

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import IDLE, AccountEvent
from service.core import errors
from service.core.errors import RollcallError
from service.gateway import events, sse_frames
from service.gateway.upstream import WatchItem
from tests.sse import event_bytes


class _Response:
    """What _relay uses of a StreamResponse: each write, recorded; `hold` stalls them."""

    def __init__(self, hold: asyncio.Future[None] | None = None) -> None:
        self.writes: list[bytes] = []
        self.hold = hold
        self.wrote = asyncio.Event()

    async def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.wrote.set()
        if self.hold is not None:
            await self.hold


async def _items(items: Iterable[WatchItem | RollcallError]) -> AsyncIterator[WatchItem]:
    for item in items:
        if isinstance(item, RollcallError):
            raise item
        yield item


async def _relay(items: Iterable[WatchItem | RollcallError], response: _Response) -> None:
    await events._relay(_items(items), cast(web.StreamResponse, response))


async def test_events_are_held_until_the_stream_waits() -> None:
    one, two, three = (AccountEvent(event_bytes(r), f"AW{r}") for r in (10, 11, 12))
    progress = pb.WatchAccountResponse(progress=pb.AccountProgress(), cursor="AW12")
    response = _Response()
    await _relay([one, two, IDLE, IDLE, three, progress, IDLE], response)
    assert response.writes == [
        sse_frames.encode(one) + sse_frames.encode(two),
        sse_frames.encode(three) + sse_frames.encode(progress),  # a message goes at once, with them
    ]


async def test_a_stream_read_over_grpc_is_written_item_by_item() -> None:
    items = [
        AccountEvent(event_bytes(r), f"AW{r}").message() for r in (20, 21)
    ]  # as GrpcUpstream reads them: messages, and no IDLE
    response = _Response()
    await _relay(items, response)
    assert response.writes == [sse_frames.encode(item) for item in items]


async def test_what_was_held_goes_out_before_a_failure() -> None:
    held = AccountEvent(event_bytes(30), "AW30")
    response = _Response()
    with pytest.raises(RollcallError):
        await _relay([held, errors.cursor_expired("gone")], response)
    assert response.writes == [sse_frames.encode(held)]


async def test_a_stream_far_behind_is_written_in_bounded_pieces() -> None:
    behind = [AccountEvent(event_bytes(r), f"AW{r}") for r in range(100, 300)]
    response = _Response()
    await _relay([*behind, IDLE], response)
    assert b"".join(response.writes) == b"".join(sse_frames.encode(item) for item in behind)
    assert 1 < len(response.writes) < len(behind)
    assert all(len(w) < events._FLUSH_BYTES + len(sse_frames.encode(behind[0])) * 2
               for w in response.writes)  # fmt: skip


async def test_a_slow_client_holds_up_only_itself() -> None:
    items = [AccountEvent(event_bytes(r), f"AW{r}") for r in (40, 41, 42)]
    stalled = asyncio.get_running_loop().create_future()
    slow, quick = _Response(hold=stalled), _Response()
    paced: list[WatchItem] = [items[0], IDLE, items[1], IDLE, items[2], IDLE]
    slow_task = asyncio.create_task(_relay(paced, slow))
    await slow.wrote.wait()  # its first write is stuck
    await _relay(paced, quick)  # runs to its end while the slow one waits on its write
    assert quick.writes == [sse_frames.encode(item) for item in items]
    assert slow.writes == [sse_frames.encode(items[0])] and not slow_task.done()
    stalled.set_result(None)
    await slow_task
    assert slow.writes == quick.writes
