"""Reading a WatchAccount stream in end-to-end tests: items, cursors, and the
revisions delivered per conference."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as S
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import Harness

WAIT = 20.0


def account_parent(h: Harness, account: str | None = None) -> str:
    return f"accounts/{account or h.account_sid}"


class AccountStream:
    """One WatchAccount call; what it delivered, by conference."""

    def __init__(self, h: Harness, metadata: Any = None, **fields: Any) -> None:
        self.call = h.stub.WatchAccount(
            pb.WatchAccountRequest(parent=account_parent(h), **fields),
            metadata=metadata or h.md(),
        )
        self.snapshot: dict[str, pb.ConferenceSnapshot] = {}
        self.revisions: dict[str, list[int]] = {}
        self.events: list[pb.ConferenceEvent] = []
        self.cursor = ""

    async def next(self) -> pb.WatchAccountResponse:
        item = await asyncio.wait_for(self.call.read(), WAIT)
        assert item is not grpc.aio.EOF, "stream ended early"
        which = item.WhichOneof("item")
        if which == "conference_snapshot":
            assert not item.cursor
            self.snapshot[item.conference_snapshot.conference.conference_sid] = (
                item.conference_snapshot
            )
        else:
            assert item.cursor.startswith("AW"), item
            self.cursor = item.cursor
        if which == "event":
            self.events.append(item.event)
            self.revisions.setdefault(item.event.conference.conference_sid, []).append(
                item.event.revision
            )
        return item

    async def until_snapshot(self) -> pb.AccountSnapshotComplete:
        while True:
            item = await self.next()
            if item.WhichOneof("item") == "snapshot_complete":
                return item.snapshot_complete

    async def until(self, conference_sid: str, revision: int) -> None:
        while revision not in self.revisions.get(conference_sid, []):
            await self.next()

    async def until_type(self, conference_sid: str, kind: int) -> pb.ConferenceEvent:
        while True:
            item = await self.next()
            event = item.event
            if (
                item.WhichOneof("item") == "event"
                and event.conference.conference_sid == conference_sid
                and event.type == kind
            ):
                return event

    def cancel(self) -> None:
        self.call.cancel()


async def end_conference(h: Harness, conference_sid: str) -> S.Conference:
    stub = cpb_grpc.ConferenceServiceStub(h.channel)
    response = await stub.UpdateConference(
        cpb.UpdateConferenceRequest(
            name=h.parent(conference_sid), status=S.CONFERENCE_STATUS_COMPLETED
        ),
        metadata=h.md(),
    )
    return response.conference


async def revision_of(h: Harness, conference_sid: str) -> int:
    page = await h.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=h.parent(conference_sid)), metadata=h.md()
    )
    return int(page.revision)


async def mute(h: Harness, conference_sid: str, key: str, muted: bool = True) -> int:
    r = await h.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(name=h.name(conference_sid, key), muted=muted),
        metadata=h.md(),
    )
    return int(r.participant.revision)
