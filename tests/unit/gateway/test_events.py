"""The event stream's encoding (service.gateway.events): each stream's cursor
in `id:`, one rendering of an event's `data:` shared by every stream."""

from __future__ import annotations

import json

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.events import change_data, encode


def _event(revision: int, muted: bool) -> pb.ConferenceEvent:
    conference = ppb.Conference(
        account_sid="AC" + "a" * 32,
        conference_sid="CF" + "b" * 32,
        friendly_name="desk-1",
        status=ppb.CONFERENCE_STATUS_IN_PROGRESS,
        revision=revision,
    )
    participant = ppb.Participant(
        account_sid=conference.account_sid,
        conference_sid=conference.conference_sid,
        call_sid="CA" + "c" * 32,
        status=ppb.PARTICIPANT_STATUS_CONNECTED,
        muted=muted,
    )
    return pb.ConferenceEvent(
        type=pb.ConferenceEventType.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
        revision=revision,
        conference=conference,
        participant=participant,
    )


def _parse(frame: bytes) -> dict[str, str]:
    fields = {}
    for line in frame.decode().strip("\n").split("\n"):
        name, _, value = line.partition(": ")
        fields[name] = value
    return fields


def test_every_stream_gets_its_cursor_and_the_same_rendering() -> None:
    event = _event(7, True)
    first = _parse(encode(pb.WatchAccountResponse(event=event, cursor="AWone")))
    second = _parse(encode(pb.WatchAccountResponse(event=event, cursor="AWtwo")))
    assert (first["event"], first["id"], second["id"]) == ("change", "AWone", "AWtwo")
    assert first["data"] == second["data"]
    assert json.loads(first["data"]) == json.loads(json.dumps(change_data(event)))
    # The next revision is its own event.
    later = _parse(encode(pb.WatchAccountResponse(event=_event(8, False), cursor="AWthree")))
    data = json.loads(later["data"])
    assert (data["revision"], data["participant"]["muted"]) == (8, False)
