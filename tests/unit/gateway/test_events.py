"""service.gateway.events and its frames (gateway.sse_frames): a change's
actor and an alert's fields, `type=all`, `attribute=`, each stream's cursor
in `id:` and one rendering of an event's `data:` shared by every stream."""

from __future__ import annotations

import json

from aiohttp.test_utils import make_mocked_request

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import events, sse_frames
from service.gateway.sse_frames import change_data, encode

CONFERENCE = ppb.Conference(conference_sid="CF1", status=ppb.CONFERENCE_STATUS_IN_PROGRESS)


def test_a_conference_alert_carries_its_alert() -> None:
    event = pb.ConferenceEvent(
        revision=7, type=pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ALERT, conference=CONFERENCE,
        alert=pb.Alert(
            kind=pb.ALERT_KIND_NO_AGENT, threshold_seconds=20, ends_conference=True
        ),
    )  # fmt: skip
    event.alert.since.FromSeconds(1_700_000_170)
    data = sse_frames.change_data(event)
    assert data["type"] == "conference-alert"
    assert data["alert"] == {
        "kind": "no-agent",
        "threshold_seconds": 20.0,
        "since": "2023-11-14T22:16:10Z",
        "call_sid": None,
        "ends_conference": True,
    }
    plain = pb.ConferenceEvent(
        revision=1, type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED, conference=CONFERENCE
    )
    assert "alert" not in sse_frames.change_data(plain)


def test_type_all_names_every_type_once_and_attributes_pass_through() -> None:
    request = make_mocked_request(
        "GET",
        "/rollcall/v1/accounts/AC1/events?type=all&type=participant-mute&attribute=role=agent",
    )
    watch = events._watch_request(request, "AC1")
    assert sorted(watch.event_types) == sorted(
        number for number in pb.ConferenceEventType.values() if number
    )
    assert pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_SPEAKING in watch.event_types
    assert list(watch.attributes) == ["role=agent"]


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
    data = sse_frames.change_data(event)
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
    assert sse_frames.change_data(older)["actor"] is None


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


def test_a_revision_rewritten_by_a_redaction_is_rendered_again() -> None:
    event = _event(9, True)
    event.participant.label = "customer +15551230009"
    before = _parse(encode(pb.WatchAccountResponse(event=event, cursor="AWa")))
    assert "+15551230009" in before["data"]
    event.participant.ClearField("label")  # the same revision, redacted in place
    after = _parse(encode(pb.WatchAccountResponse(event=event, cursor="AWb")))
    assert "+15551230009" not in after["data"]
    assert json.loads(after["data"]) == json.loads(json.dumps(change_data(event)))


MOVE_CONFERENCE = ppb.Conference(
    conference_sid="CFa", account_sid="AC1", status=ppb.CONFERENCE_STATUS_IN_PROGRESS
)


def test_a_move_event_carries_its_move_and_others_none() -> None:
    event = pb.ConferenceEvent(
        revision=3,
        type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_OUT,
        move_id="MV1",
        moved_from_conference_sid="CFa",
        moved_to_conference_sid="CFb",
        conference=MOVE_CONFERENCE,
    )
    data = change_data(event)
    assert data["type"] == "participant-moved-out"
    assert data["move"] == {"id": "MV1", "from_conference_sid": "CFa", "to_conference_sid": "CFb"}
    role = change_data(
        pb.ConferenceEvent(
            type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_ROLE_CHANGED, conference=MOVE_CONFERENCE
        )
    )
    assert role["type"] == "participant-role" and "move" not in role
