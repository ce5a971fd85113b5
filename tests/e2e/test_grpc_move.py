"""End to end: MoveParticipant over gRPC, watched from both conferences.

A real server (simulated carrier, the run's store): the move answers the
participant where it arrived; the conference it left and the one it joined
each get one event with the same move id naming both; a conference watch of
either folds right (the client's ConferenceState); a refused move changes
neither; another account's destination is not found.
"""

from __future__ import annotations

import asyncio

import grpc

from clients.watch_items import ConferenceState, EventItem
from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import OTHER_SID, Harness
from tests.e2e.helpers import create, expect_error

MOVED_OUT = pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_OUT
MOVED_IN = pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_IN


async def events_until(
    h: Harness, conference: str, after: int, last: int
) -> list[pb.ConferenceEvent]:
    stream = h.stub.WatchConference(
        pb.WatchConferenceRequest(parent=h.parent(conference), resume_after_revision=after),
        metadata=h.md(),
    )
    seen: list[pb.ConferenceEvent] = []

    async def read() -> None:
        async for item in stream:
            if item.HasField("event"):
                seen.append(item.event)
                if item.event.type == last:
                    return

    try:
        await asyncio.wait_for(read(), 20)
    finally:
        stream.cancel()
    return seen


async def test_a_move_over_grpc_and_both_watch_streams(harness: Harness) -> None:
    h = harness
    agent = (await create(h, "support", to="+15551230001", label="agent")).participant
    customer = (await create(h, "support", to="+15551230002", label="customer")).participant
    expert = (await create(h, "expert", to="+15551230003")).participant
    await h.advance(3)
    revisions = {}
    for cf in (agent.conference_sid, expert.conference_sid):
        page = await h.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=h.parent(cf)), metadata=h.md()
        )
        revisions[cf] = page.revision
    moved = await h.stub.MoveParticipant(
        pb.MoveParticipantRequest(
            name=h.name("support", "customer"),
            destination=h.parent("expert"),
            role=E.PARTICIPANT_ROLE_WHISPER,
            whisper_targets=[expert.call_sid],
        ),
        metadata=h.md(),
    )
    assert moved.participant.conference_sid == expert.conference_sid
    assert moved.participant.role == E.PARTICIPANT_ROLE_WHISPER
    assert moved.moved_from_conference_sid == agent.conference_sid and moved.move_id
    out = await events_until(h, agent.conference_sid, revisions[agent.conference_sid], MOVED_OUT)
    into = await events_until(h, expert.conference_sid, revisions[expert.conference_sid], MOVED_IN)
    assert [e.type for e in out] == [MOVED_OUT]
    assert into[0].type == MOVED_IN and into[0].revision == revisions[expert.conference_sid] + 1
    for event in (out[0], into[0]):
        assert event.move_id == moved.move_id
        assert event.moved_from_conference_sid == agent.conference_sid
        assert event.moved_to_conference_sid == expert.conference_sid
    # The client's folding of the source's stream drops the participant.
    source = ConferenceState()
    source.participants[customer.call_sid] = customer
    source.apply(EventItem(out[0], pb.WatchConferenceResponse(event=out[0])))
    assert customer.call_sid not in source.participants
    listed = await h.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=h.parent(agent.conference_sid)), metadata=h.md()
    )
    assert [p.call_sid for p in listed.participants] == [agent.call_sid]

    error = await expect_error(
        h.stub.MoveParticipant(
            pb.MoveParticipantRequest(
                name=h.name("support", "agent"), destination=h.parent(agent.conference_sid)
            ),
            metadata=h.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in error.violations] == ["destination"]
    await expect_error(
        h.stub.MoveParticipant(
            pb.MoveParticipantRequest(
                name=h.name("support", "agent"), destination=h.parent("elsewhere", OTHER_SID)
            ),
            metadata=h.md(),
        ),
        grpc.StatusCode.NOT_FOUND,
    )
