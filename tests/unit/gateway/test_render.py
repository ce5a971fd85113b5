"""Unit tests of service.gateway.render: participants and pages as Twilio JSON.

Everything rendered must validate against Twilio's schemas and be read
correctly by the real twilio SDK.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from twilio.base import deserialize
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.conference.participant import (
    ParticipantInstance,
    ParticipantPage,
)

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import render
from tests.gateway.schemas import LIST_VALIDATOR, PARTICIPANT_VALIDATOR, example

ACCOUNT = "AC" + "a" * 32
CONFERENCE = "CF" + "b" * 32
CALL = "CA" + "c" * 32
COACHED = "CA" + "d" * 32
PATH = render.collection_path(ACCOUNT, CONFERENCE)
RFC2822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000"
)


def participant(**overrides: Any) -> participant_pb2.Participant:
    fields: dict[str, Any] = {
        "account_sid": ACCOUNT,
        "call_sid": CALL,
        "conference_sid": CONFERENCE,
        "status": participant_pb2.PARTICIPANT_STATUS_QUEUED,
        "start_conference_on_enter": True,
        "etag": '"3"',
        "revision": 3,
    }
    fields.update(overrides)
    message = participant_pb2.Participant(**fields)
    message.date_created.FromSeconds(1298063239)
    message.date_updated.FromSeconds(1298149639)
    return message


def sdk_version() -> Any:
    return Client(ACCOUNT, "token").api.v2010


def test_participant_has_the_15_keys_in_spec_order_with_nulls() -> None:
    rendered = render.participant_json(participant())
    assert tuple(rendered) == render.JSON_KEYS
    assert tuple(rendered)[:15] == render.PARTICIPANT_KEYS
    assert rendered["label"] is None
    assert rendered["call_sid_to_coach"] is None
    assert rendered["queue_time"] is None
    assert rendered["muted"] is False
    assert rendered["start_conference_on_enter"] is True
    PARTICIPANT_VALIDATOR.validate(rendered)


def test_participant_matches_the_spec_create_example() -> None:
    expected = example("post", "201", "createWithSid")
    rendered = render.participant_json(
        participant(
            account_sid=expected["account_sid"],
            call_sid=expected["call_sid"],
            conference_sid=expected["conference_sid"],
            label="customer",
            queue_time_ms=1000,
        )
    )
    rendered["date_updated"] = expected["date_updated"]
    assert {key: rendered[key] for key in render.PARTICIPANT_KEYS} == expected


def test_full_participant() -> None:
    rendered = render.participant_json(
        participant(
            label="agent one ü",
            muted=True,
            hold=True,
            coaching=True,
            end_conference_on_exit=True,
            call_sid_to_coach=COACHED,
            queue_time_ms=1234,
            status=participant_pb2.PARTICIPANT_STATUS_CONNECTED,
        )
    )
    assert rendered == {
        "account_sid": ACCOUNT,
        "call_sid": CALL,
        "label": "agent one ü",
        "conference_sid": CONFERENCE,
        "date_created": "Fri, 18 Feb 2011 21:07:19 +0000",
        "date_updated": "Sat, 19 Feb 2011 21:07:19 +0000",
        "end_conference_on_exit": True,
        "muted": True,
        "hold": True,
        "status": "connected",
        "start_conference_on_enter": True,
        "coaching": True,
        "call_sid_to_coach": COACHED,
        "queue_time": "1234",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Conferences/{CONFERENCE}/Participants/{CALL}.json",
        **render.rollcall_json(participant()),
    }
    PARTICIPANT_VALIDATOR.validate(rendered)


def test_rollcall_keys_follow_twilios_with_exact_clocks_and_attributes() -> None:
    message = participant(
        queue_seconds=1.5,
        ring_seconds=2.0,
        talk_seconds=30.25,
        hold_count=2,
        hold_seconds=10.0,
        mute_count=1,
        mute_seconds=0.5,
        answered_by="machine_start",
        speaking=True,
        attributes={"role": "agent", "team": "blue"},
    )
    message.hold_since.FromNanoseconds(1298063239_250000000)
    message.status_since.FromSeconds(1298063239)
    rendered = render.participant_json(message)
    assert {key: rendered[key] for key in render.ROLLCALL_KEYS} == {
        "queue_seconds": 1.5,
        "ring_seconds": 2.0,
        "talk_seconds": 30.25,
        "hold_count": 2,
        "hold_seconds": 10.0,
        "mute_count": 1,
        "mute_seconds": 0.5,
        "queue_since": None,
        "ring_since": None,
        "talk_since": None,
        "hold_since": "2011-02-18T21:07:19.250000Z",
        "mute_since": None,
        "status_since": "2011-02-18T21:07:19.000000Z",
        "last_spoke_at": None,
        "answered_by": "machine_start",
        "speaking": True,
        "attributes": {"role": "agent", "team": "blue"},
    }
    PARTICIPANT_VALIDATOR.validate(rendered)
    # Twilio's SDK still reads the record (and ignores the extension keys).
    sdk = ParticipantInstance(sdk_version(), rendered, ACCOUNT, CONFERENCE)
    assert (sdk.call_sid, sdk.hold, sdk.status) == (CALL, False, "queued")


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (participant_pb2.PARTICIPANT_STATUS_QUEUED, "queued"),
        (participant_pb2.PARTICIPANT_STATUS_CONNECTING, "connecting"),
        (participant_pb2.PARTICIPANT_STATUS_RINGING, "ringing"),
        (participant_pb2.PARTICIPANT_STATUS_CONNECTED, "connected"),
        (participant_pb2.PARTICIPANT_STATUS_COMPLETE, "complete"),
        (participant_pb2.PARTICIPANT_STATUS_FAILED, "failed"),
    ],
)
def test_status_words(status: int, word: str) -> None:
    rendered = render.participant_json(participant(status=status))
    assert rendered["status"] == word
    PARTICIPANT_VALIDATOR.validate(rendered)


def test_a_participant_without_status_is_a_fault_not_a_guess() -> None:
    with pytest.raises(ValueError, match="status"):
        render.participant_json(participant(status=0))


def test_missing_dates_are_null_and_present_ones_are_rfc2822() -> None:
    bare = participant_pb2.Participant(
        account_sid=ACCOUNT,
        call_sid=CALL,
        conference_sid=CONFERENCE,
        status=participant_pb2.PARTICIPANT_STATUS_RINGING,
    )
    rendered = render.participant_json(bare)
    assert rendered["date_created"] is None
    assert rendered["date_updated"] is None
    PARTICIPANT_VALIDATOR.validate(rendered)
    for seconds in (0, 1298063239, 1700000000, 4102444799):
        stamp = participant_pb2.Participant().date_created
        stamp.FromSeconds(seconds)
        text = render.rfc2822(stamp)
        assert RFC2822.fullmatch(text), text
        assert int(deserialize.rfc2822_datetime(text).timestamp()) == seconds


def test_sub_second_precision_is_dropped() -> None:
    stamp = participant_pb2.Participant().date_created
    stamp.FromNanoseconds(1298063239_999_000_000)
    assert render.rfc2822(stamp) == "Fri, 18 Feb 2011 21:07:19 +0000"


def test_the_sdk_reads_a_rendered_participant() -> None:
    rendered = render.participant_json(participant(label="agent", muted=True, queue_time_ms=1000))
    instance = ParticipantInstance(sdk_version(), rendered, ACCOUNT, CONFERENCE)
    assert instance.call_sid == CALL
    assert instance.label == "agent"
    assert instance.muted is True
    assert instance.status == "queued"
    assert instance.queue_time == "1000"
    assert instance.date_created is not None
    assert instance.date_created.isoformat() == "2011-02-18T21:07:19+00:00"


def page(
    participants: list[participant_pb2.Participant],
    *,
    next_token: str = "",
    previous_token: str = "",
    filters: tuple[tuple[str, str], ...] = (),
    page_size: int = 50,
    page_number: int = 0,
    page_token: str = "",
) -> dict[str, Any]:
    response = pb.ListParticipantsResponse(
        participants=participants,
        next_page_token=next_token,
        previous_page_token=previous_token,
    )
    return render.page_json(
        response,
        path=PATH,
        filters=filters,
        page_size=page_size,
        page=page_number,
        page_token=page_token,
    )


def test_empty_page_matches_the_spec_example() -> None:
    rendered = render.page_json(
        pb.ListParticipantsResponse(),
        path=render.collection_path("AC" + "a" * 32, "CF" + "a" * 32),
        filters=(("Hold", "true"),),
        page_size=50,
        page=0,
        page_token="",
    )
    assert rendered == example("get", "200", "readEmpty")
    assert (rendered["start"], rendered["end"]) == (0, 0)
    LIST_VALIDATOR.validate(rendered)


def test_middle_page_like_the_spec_read_next_example() -> None:
    rendered = page(
        [participant(call_sid="CA" + "1" * 32), participant(call_sid="CA" + "2" * 32)],
        next_token="PAnext",
        previous_token="PBprev",
        filters=(("Muted", "true"),),
        page_size=2,
        page_number=1,
        page_token="PAthis",
    )
    assert tuple(rendered) == render.PAGE_KEYS
    assert rendered["first_page_uri"] == f"{PATH}?Muted=true&PageSize=2&Page=0"
    assert rendered["uri"] == f"{PATH}?Muted=true&PageSize=2&Page=1&PageToken=PAthis"
    assert rendered["next_page_uri"] == f"{PATH}?Muted=true&PageSize=2&Page=2&PageToken=PAnext"
    assert rendered["previous_page_uri"] == (
        f"{PATH}?Muted=true&PageSize=2&Page=0&PageToken=PBprev"
    )
    assert (rendered["page"], rendered["page_size"], rendered["start"], rendered["end"]) == (
        1,
        2,
        2,
        3,
    )
    LIST_VALIDATOR.validate(rendered)
    for record in rendered["participants"]:
        PARTICIPANT_VALIDATOR.validate(record)


def test_first_and_last_pages_have_null_links() -> None:
    only = page([participant()])
    assert only["next_page_uri"] is None
    assert only["previous_page_uri"] is None
    assert (only["start"], only["end"]) == (0, 0)
    LIST_VALIDATOR.validate(only)


def test_page_tokens_and_filters_are_query_encoded_in_order() -> None:
    rendered = page(
        [participant()],
        next_token="a+b/c=d&e",
        filters=(("Muted", "false"), ("Hold", "true"), ("Coaching", "false")),
        page_size=1,
    )
    query = urlsplit(rendered["next_page_uri"]).query
    assert parse_qsl(query) == [
        ("Muted", "false"),
        ("Hold", "true"),
        ("Coaching", "false"),
        ("PageSize", "1"),
        ("Page", "1"),
        ("PageToken", "a+b/c=d&e"),
    ]


def test_the_sdk_finds_the_records_and_the_next_page() -> None:
    rendered = page(
        [participant(call_sid="CA" + "1" * 32), participant(call_sid="CA" + "2" * 32)],
        next_token="PAnext",
        filters=(("Muted", "true"),),
        page_size=2,
    )
    sdk_page = ParticipantPage(
        sdk_version(),
        Response(200, json.dumps(rendered)),
        {"account_sid": ACCOUNT, "conference_sid": CONFERENCE},
    )
    assert [p.call_sid for p in sdk_page] == ["CA" + "1" * 32, "CA" + "2" * 32]
    assert sdk_page.next_page_url == "https://api.twilio.com" + rendered["next_page_uri"]
    assert sdk_page.previous_page_url is None


def test_the_schemas_are_not_vacuous() -> None:
    rendered = render.participant_json(participant())
    for key, bad in (("muted", "true"), ("status", "active"), ("call_sid", "CAxyz"), ("uri", 3)):
        assert not PARTICIPANT_VALIDATOR.is_valid({**rendered, key: bad}), key
    assert not LIST_VALIDATOR.is_valid({**page([]), "participants": [{"muted": "no"}]})
