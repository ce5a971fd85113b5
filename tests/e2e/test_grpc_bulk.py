"""End to end: UpdateParticipants over gRPC (one change over many participants)."""

from __future__ import annotations

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import Harness
from tests.e2e.helpers import create, expect_error, list_all


async def test_hold_everyone_but_the_presenter(harness: Harness) -> None:
    h = harness
    host = (await create(h, "webinar", to="+15551230001", label="host")).participant
    for i in range(4):
        await create(h, "webinar", to=f"+1555123001{i}", label=f"guest{i}")
    await h.advance(3)
    answer = await h.stub.UpdateParticipants(
        pb.UpdateParticipantsRequest(
            parent=h.parent("webinar"), participants=["host"], all_except=True, hold=True
        ),
        metadata=h.md(),
    )
    assert len(answer.outcomes) == 4
    assert all(o.changed and o.participant.hold and not o.error_reason for o in answer.outcomes)
    revisions = sorted(o.participant.revision for o in answer.outcomes)
    assert revisions == list(range(revisions[0], revisions[0] + 4))  # one change, consecutive
    held = {p.label: p.hold for p in await list_all(h, host.conference_sid)}
    assert held == {"host": False, "guest0": True, "guest1": True, "guest2": True, "guest3": True}

    answer = await h.stub.UpdateParticipants(
        pb.UpdateParticipantsRequest(
            parent=h.parent("webinar"), participants=["guest0", "nobody"], hold=False
        ),
        metadata=h.md(),
    )
    assert [(o.key, o.changed, o.error_reason) for o in answer.outcomes] == [
        ("guest0", True, ""),
        ("nobody", False, "PARTICIPANT_NOT_FOUND"),
    ]
    error = await expect_error(
        h.stub.UpdateParticipants(
            pb.UpdateParticipantsRequest(parent=h.parent("webinar"), participants=["host"]),
            metadata=h.md(),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in error.violations] == ["muted"]
