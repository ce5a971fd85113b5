"""The SSE face's event data: a move's two sides carry the move."""

from __future__ import annotations

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.events import change_data

CONFERENCE = ppb.Conference(
    conference_sid="CFa", account_sid="AC1", status=ppb.CONFERENCE_STATUS_IN_PROGRESS
)


def test_a_move_event_carries_its_move_and_others_none() -> None:
    event = pb.ConferenceEvent(
        revision=3,
        type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_OUT,
        move_id="MV1",
        moved_from_conference_sid="CFa",
        moved_to_conference_sid="CFb",
        conference=CONFERENCE,
    )
    data = change_data(event)
    assert data["type"] == "participant-moved-out"
    assert data["move"] == {"id": "MV1", "from_conference_sid": "CFa", "to_conference_sid": "CFb"}
    role = change_data(
        pb.ConferenceEvent(
            type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_ROLE_CHANGED, conference=CONFERENCE
        )
    )
    assert role["type"] == "participant-role" and "move" not in role
