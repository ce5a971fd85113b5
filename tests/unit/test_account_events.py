"""service.account_events: an event in parts is exactly the WatchAccountResponse
it stands for."""

from __future__ import annotations

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import IDLE, AccountEvent, Idle


def test_an_event_in_parts_is_the_response_it_stands_for() -> None:
    event = pb.ConferenceEvent(
        revision=300,
        type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        conference=ppb.Conference(conference_sid="CF" + "1" * 32, friendly_name="desk"),
        participant=ppb.Participant(call_sid="CA" + "2" * 32, label="agent", muted=True),
    )
    body = pb.WatchConferenceResponse(event=event).SerializeToString()
    for cursor in ("AW" + "x" * 10, "AW" + "y" * 300):  # a one- and a two-byte length
        expected = pb.WatchAccountResponse(event=event, cursor=cursor)
        item = AccountEvent(body, cursor)
        assert item.wire() == expected.SerializeToString()
        assert item.message() == expected


def test_idle_is_one_marker() -> None:
    assert isinstance(IDLE, Idle) and repr(IDLE) == "IDLE"
