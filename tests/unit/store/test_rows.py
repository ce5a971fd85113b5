"""JSON columns (service.store.rows.dumps) are what to_dict says, field for field."""

from __future__ import annotations

import dataclasses

import orjson

from service.core.events import Event, EventType
from service.core.records import Conference, Participant, StatusCallback
from service.core.statuses import ConferenceStatus
from service.store.rows import dumps
from tests.fakes.connected import ACCOUNT, CONFERENCE, participant


def test_a_json_column_is_json_of_to_dict_field_for_field() -> None:
    """rows.dumps hands the dataclass to orjson: it must write what to_dict says."""
    p = participant(
        7,
        label="host",
        muted=True,
        answered_by="human",
        status_callback=StatusCallback("https://example.com/cb", "GET", ("ringing", "answered")),
        settings={"record": True, "sip_auth_username": "u", "list": ["a", 1]},
        seq=12,
    )
    conf = Conference(
        sid=CONFERENCE, account_sid=ACCOUNT, friendly_name="room",
        status=ConferenceStatus.IN_PROGRESS, revision=4, max_participants=250,
        date_created=1.0, date_updated=2.5, settings={"trim": "do-not-trim"},
        status_callback=StatusCallback("https://example.com/c", "POST", ("start",)),
        region="ie1",
    )  # fmt: skip
    event = Event(CONFERENCE, ACCOUNT, 4, 2.5, EventType.PARTICIPANT_MUTED, conf, p)
    for value in (p, conf, event, dataclasses.replace(event, participant=None)):
        assert orjson.loads(dumps(value)) == orjson.loads(orjson.dumps(value.to_dict()))
    assert Participant.from_dict(orjson.loads(dumps(p))) == p
    assert Event.from_dict(orjson.loads(dumps(event))) == event
