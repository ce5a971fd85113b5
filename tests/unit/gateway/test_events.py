"""service.gateway.events: a change's actor and an alert's fields, `type=all`, `attribute=`."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import events

CONFERENCE = ppb.Conference(conference_sid="CF1", status=ppb.CONFERENCE_STATUS_IN_PROGRESS)


def test_a_conference_alert_carries_its_alert() -> None:
    event = pb.ConferenceEvent(
        revision=7, type=pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ALERT, conference=CONFERENCE,
        alert=pb.Alert(
            kind=pb.ALERT_KIND_NO_AGENT, threshold_seconds=20, ends_conference=True
        ),
    )  # fmt: skip
    event.alert.since.FromSeconds(1_700_000_170)
    data = events.change_data(event)
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
    assert "alert" not in events.change_data(plain)


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
    data = events.change_data(event)
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
    assert events.change_data(older)["actor"] is None
