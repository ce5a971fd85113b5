"""Reading Server-Sent Events in tests, as a browser's EventSource parses them.

What it owns: one open `text/event-stream` response read block by block
(fields `event`, `id`, `data`, `retry`; comment lines kept), with a bound on
every wait, and what the stream delivered per conference; and the bytes of one
event as the gateway receives it, for the unit tests of its framing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb

WAIT = 20.0


def event_bytes(revision: int, label: str = "agent") -> bytes:
    """A participant-muted event of one conference at `revision`, serialized."""
    event = pb.ConferenceEvent(
        type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        revision=revision,
        conference=ppb.Conference(
            account_sid="AC" + "a" * 32,
            conference_sid="CF" + "b" * 32,
            status=ppb.CONFERENCE_STATUS_IN_PROGRESS,
            revision=revision,
        ),
        participant=ppb.Participant(
            call_sid="CA" + "c" * 32,
            status=ppb.PARTICIPANT_STATUS_CONNECTED,
            label=label,
            muted=True,
        ),
    )
    return pb.WatchConferenceResponse(event=event).SerializeToString()


@dataclasses.dataclass
class Block:
    """One block of the stream (up to a blank line)."""

    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = dataclasses.field(default_factory=list)
    retry: int | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class EventStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.last_id = ""
        self.blocks: list[Block] = []
        # conference SID -> revisions of its `change` events, in arrival order.
        self.revisions: dict[str, list[int]] = {}
        self.snapshot: dict[str, Any] = {}

    async def next(self, wait: float = WAIT) -> Block:
        block = Block()
        data: list[str] = []
        seen = False
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), wait)
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\r\n")
            if not line:
                if seen:
                    break
                continue
            seen = True
            if line.startswith(":"):
                block.comments.append(line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                block.event = value
            elif field == "id":
                block.id = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                block.retry = int(value)
        block.data = "\n".join(data)
        if block.id is not None:
            self.last_id = block.id
        self.blocks.append(block)
        if block.event == "change":
            change = block.json
            self.revisions.setdefault(change["conference"]["sid"], []).append(change["revision"])
        elif block.event == "conference":
            item = block.json
            self.snapshot[item["conference"]["sid"]] = item
        return block

    async def until(self, event: str, wait: float = WAIT) -> Block:
        """The next `event` block, within `wait` seconds in all (keepalive
        comments do not extend it)."""
        async with self._bounded(f"an {event!r} block", wait):
            while True:
                block = await self.next(wait)
                if block.event == event:
                    return block

    async def until_revision(self, conference_sid: str, revision: int, wait: float = WAIT) -> None:
        """Until a change of `conference_sid` at `revision` arrived, within
        `wait` seconds in all."""
        async with self._bounded(f"revision {revision} of {conference_sid}", wait):
            while revision not in self.revisions.get(conference_sid, []):
                await self.next(wait)

    @contextlib.asynccontextmanager
    async def _bounded(self, what: str, wait: float) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(wait):
                yield
        except TimeoutError:
            seen = [(b.event, b.id) for b in self.blocks[-10:]]
            raise AssertionError(
                f"no {what} within {wait} s; revisions seen: {self.revisions}; last blocks: {seen}"
            ) from None

    def changes(self) -> list[dict[str, Any]]:
        return [b.json for b in self.blocks if b.event == "change"]

    def close(self) -> None:
        self.response.close()
