"""service.gateway.events: a change as the SSE stream sends it, with its actor."""

from __future__ import annotations

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.events import change_data


def test_a_change_carries_its_actor() -> None:
    conference = ppb.Conference(
        conference_sid="CF" + "1" * 32, status=ppb.CONFERENCE_STATUS_IN_PROGRESS
    )
    event = pb.ConferenceEvent(
        conference=conference,
        revision=3,
        type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        actor=pb.Actor(
            kind=pb.ACTOR_KIND_API_KEY, sid="SK" + "c" * 32, face="rest", request_id="r1"
        ),
    )
    data = change_data(event)
    assert data["type"] == "participant-mute"
    assert data["actor"] == {
        "kind": "api-key",
        "sid": "SK" + "c" * 32,
        "rule": "",
        "face": "rest",
        "peer_address": "",
        "forwarded_for": "",
        "request_id": "r1",
    }
    older = pb.ConferenceEvent(revision=1, conference=conference)  # recorded before actors
    assert change_data(older)["actor"] is None
