"""Unit tests: which callbacks an event produces, their parameters and signing."""

from __future__ import annotations

import dataclasses
import email.utils
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from service.core.events import Event, EventType
from service.core.records import Conference, Participant, StatusCallback, event_words, method_word
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
)
from service.webhooks import params as P
from service.webhooks.sender import prepare

T0 = 1_496_350_112.0  # Thu, 01 Jun 2017 20:48:32 +0000
ACCOUNT = "AC" + "a" * 32
CONF_SID = "CF" + "e" * 32
CALL_SID = "CA" + "1" * 32
CALL_EVENTS = [f"CALL_EVENT_{w}" for w in ("INITIATED", "RINGING", "ANSWERED", "COMPLETED")]
ALL_CONFERENCE_WORDS = [
    "CONFERENCE_CALLBACK_EVENT_" + w
    for w in ("START", "END", "JOIN", "LEAVE", "MUTE", "HOLD", "MODIFY", "SPEAKER", "ANNOUNCEMENT")
]


def conference(**settings: Any) -> Conference:
    return Conference(
        sid=CONF_SID,
        account_sid=ACCOUNT,
        friendly_name="MyConf",
        status=ConferenceStatus.IN_PROGRESS,
        revision=1,
        max_participants=250,
        date_created=T0,
        date_updated=T0,
        status_callback=StatusCallback.from_settings(settings, "conference_status_callback"),
    )


def participant(**changes: Any) -> Participant:
    p = Participant(
        call_sid=CALL_SID,
        account_sid=ACCOUNT,
        conference_sid=CONF_SID,
        conference_friendly_name="MyConf",
        label=None,
        status=ParticipantStatus.CONNECTED,
        call_status=CallStatus.IN_PROGRESS,
        from_endpoint="+15005550006",
        to_endpoint="+15551230000",
        date_created=T0,
        date_updated=T0,
        revision=1,
    )
    return dataclasses.replace(p, **changes)


def event(kind: EventType, p: Participant | None = None, conf: Conference | None = None) -> Event:
    conf = conf or conference()
    return Event(CONF_SID, ACCOUNT, 7, T0, kind, conf, p)


def called(**settings: Any) -> Participant:
    return participant(
        status_callback=StatusCallback.from_settings(
            {"status_callback": "https://example.com/call", **settings},
            "status_callback",
        )
    )


# -- selection words and defaults --------------------------------------------


def test_event_words_accept_proto_names_twilio_words_and_spaces() -> None:
    assert event_words(["CALL_EVENT_INITIATED", "ringing", "RINGING"]) == ("initiated", "ringing")
    assert event_words("initiated answered") == ("initiated", "answered")
    assert event_words(None) == ()


def test_defaults_completed_and_start_end() -> None:
    assert P.call_events(participant()) == {"completed"}
    assert P.conference_events(conference()) == {"start", "end"}
    everything = conference(conference_status_callback_event=ALL_CONFERENCE_WORDS)
    assert P.conference_events(everything) == {
        "start",
        "end",
        "join",
        "leave",
        "mute",
        "hold",
        "modify",
        "speaker",
        "announcement",
    }


@pytest.mark.parametrize(
    ("stored", "expected"),
    [("HTTP_METHOD_GET", "GET"), ("HTTP_METHOD_POST", "POST"), (None, "POST"), ("get", "GET")],
)
def test_method(stored: str | None, expected: str) -> None:
    assert method_word(stored) == expected


def test_timestamp_is_rfc_2822_utc() -> None:
    text = P.rfc2822(T0)
    assert text == "Thu, 01 Jun 2017 20:48:32 +0000"
    assert email.utils.parsedate_to_datetime(text).timestamp() == T0


# -- call progress -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "call_status", "word", "wire_status"),
    [
        (
            EventType.CALL_STATUS_CHANGED,
            ParticipantStatus.CONNECTING,
            CallStatus.QUEUED,
            "initiated",
            "initiated",
        ),
        (
            EventType.CALL_STATUS_CHANGED,
            ParticipantStatus.RINGING,
            CallStatus.RINGING,
            "ringing",
            "ringing",
        ),
        (
            EventType.PARTICIPANT_JOINED,
            ParticipantStatus.CONNECTED,
            CallStatus.IN_PROGRESS,
            "answered",
            "in-progress",
        ),
        (
            EventType.PARTICIPANT_LEFT,
            ParticipantStatus.FAILED,
            CallStatus.BUSY,
            "completed",
            "busy",
        ),
        (
            EventType.PARTICIPANT_LEFT,
            ParticipantStatus.FAILED,
            CallStatus.NO_ANSWER,
            "completed",
            "no-answer",
        ),
    ],
)
def test_call_progress_words(
    kind: EventType,
    status: ParticipantStatus,
    call_status: CallStatus,
    word: str,
    wire_status: str,
) -> None:
    p = called(status_callback_event=CALL_EVENTS)
    p = dataclasses.replace(p, status=status, call_status=call_status)
    [cb] = P.callbacks_for(event(kind, p))
    assert (cb.kind, cb.word, cb.params["CallStatus"]) == (P.Kind.CALL, word, wire_status)
    assert cb.call_sid == CALL_SID


def test_queued_and_conference_only_events_make_no_call_callback() -> None:
    p = called(status_callback_event=CALL_EVENTS)
    queued = dataclasses.replace(p, status=ParticipantStatus.QUEUED, call_status=CallStatus.QUEUED)
    assert P.callbacks_for(event(EventType.CALL_STATUS_CHANGED, queued)) == []
    assert P.callbacks_for(event(EventType.PARTICIPANT_MUTED, p)) == []


def test_only_selected_call_events_default_completed() -> None:
    p = called()
    assert P.callbacks_for(event(EventType.PARTICIPANT_JOINED, p)) == []
    done = dataclasses.replace(
        p, status=ParticipantStatus.COMPLETE, call_status=CallStatus.COMPLETED
    )
    assert [c.word for c in P.callbacks_for(event(EventType.PARTICIPANT_LEFT, done))] == [
        "completed"
    ]
    assert P.callbacks_for(event(EventType.PARTICIPANT_LEFT, participant())) == []


def test_completed_call_parameters() -> None:
    p = called(status_callback_method="HTTP_METHOD_GET")
    p = dataclasses.replace(
        p,
        status=ParticipantStatus.COMPLETE,
        call_status=CallStatus.COMPLETED,
        answered_at=T0 - 42.7,
        ended_at=T0,
    )
    [cb] = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, p))
    assert cb.method == "GET"
    assert cb.url == "https://example.com/call"
    assert cb.params == {
        "CallSid": CALL_SID,
        "AccountSid": ACCOUNT,
        "From": "+15005550006",
        "To": "+15551230000",
        "Caller": "+15005550006",
        "Called": "+15551230000",
        "CallStatus": "completed",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "CallbackSource": "call-progress-events",
        "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
        "CallDuration": "42",
        "Duration": "1",
    }


def test_unanswered_call_lasts_zero_seconds() -> None:
    p = dataclasses.replace(called(), call_status=CallStatus.CANCELED, ended_at=T0)
    [cb] = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, p))
    assert (cb.params["CallStatus"], cb.params["CallDuration"]) == ("canceled", "0")


# -- conference events -------------------------------------------------------

CONF_URL = "https://example.com/conf-events"


def subscribed(*words: str, **more: Any) -> Conference:
    events = ["CONFERENCE_CALLBACK_EVENT_" + w.upper() for w in words]
    return conference(
        conference_status_callback=CONF_URL, conference_status_callback_event=events, **more
    )


@pytest.mark.parametrize(
    ("kind", "word"),
    [(kind, word) for kind, word in P.CONFERENCE_WORDS.items()],
)
def test_each_conference_event_needs_its_word(kind: EventType, word: str) -> None:
    p = participant(announce_url="https://example.com/a.mp3")
    others = {w for w in P.CONFERENCE_WORDS.values() if w != word}
    assert P.callbacks_for(event(kind, p, subscribed(*others))) == []
    [cb] = P.callbacks_for(event(kind, p, subscribed(word)))
    # A role change is Twilio's participant-modify (its Coaching changed).
    twilio = P._TWILIO_EVENT.get(kind, kind.value)
    assert cb.params["StatusCallbackEvent"] == twilio
    assert cb.kind is P.Kind.CONFERENCE


def test_default_conference_words_are_start_and_end() -> None:
    conf = conference(conference_status_callback=CONF_URL)
    assert [c.word for c in P.callbacks_for(event(EventType.CONFERENCE_STARTED, None, conf))] == [
        "conference-start"
    ]
    assert P.callbacks_for(event(EventType.PARTICIPANT_JOINED, participant(), conf)) == []


def test_mute_parameters_match_the_documented_example() -> None:
    p = participant(muted=True, label="agent one")
    [cb] = P.callbacks_for(event(EventType.PARTICIPANT_MUTED, p, subscribed("mute")))
    assert cb.method == "POST"
    assert cb.params == {
        "ConferenceSid": CONF_SID,
        "FriendlyName": "MyConf",
        "AccountSid": ACCOUNT,
        "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
        "StatusCallbackEvent": "participant-mute",
        "CallSid": CALL_SID,
        "Muted": "true",
        "Hold": "false",
        "Coaching": "false",
        "EndConferenceOnExit": "false",
        "StartConferenceOnEnter": "true",
        "ParticipantLabel": "agent one",
    }


def test_leave_carries_call_status_and_reason() -> None:
    p = participant(
        status=ParticipantStatus.FAILED,
        call_status=CallStatus.BUSY,
        leave_reason=LeaveReason.PARTICIPANT_ADD_FAILED,
    )
    [cb] = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, p, subscribed("leave")))
    assert cb.params["ParticipantCallStatus"] == "busy"
    assert cb.params["ReasonParticipantLeft"] == "participant_add_failed"
    assert "ParticipantLabel" not in cb.params


def test_end_names_who_ended_it() -> None:
    conf = dataclasses.replace(
        subscribed("end"),
        status=ConferenceStatus.COMPLETED,
        end_reason=EndReason.EOE_LEFT,
        call_sid_ending_conference=CALL_SID,
    )
    e = event(EventType.CONFERENCE_ENDED, None, conf)
    assert P.needs_ending_label(e)
    [cb] = P.callbacks_for(e, ending_label="moderator")
    assert cb.params["CallSidEndingConference"] == CALL_SID
    assert cb.params["ParticipantLabelEndingConference"] == "moderator"
    assert cb.params["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert CALL_SID in cb.params["Reason"]
    assert "CallSid" not in cb.params


def test_announcement_carries_its_url() -> None:
    p = participant(announce_url="https://example.com/a.mp3")
    [cb] = P.callbacks_for(event(EventType.ANNOUNCEMENT_ENDED, p, subscribed("announcement")))
    assert cb.params["AnnounceUrl"] == "https://example.com/a.mp3"
    assert cb.params["StatusCallbackEvent"] == "announcement-end"


def test_join_sends_answered_before_join_and_leave_before_completed() -> None:
    conf = subscribed("join", "leave")
    p = called(status_callback_event=CALL_EVENTS)
    join = P.callbacks_for(event(EventType.PARTICIPANT_JOINED, p, conf))
    assert [c.word for c in join] == ["answered", "participant-join"]
    left = dataclasses.replace(p, status=ParticipantStatus.COMPLETE)
    leave = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, left, conf))
    assert [c.word for c in leave] == ["participant-leave", "completed"]


def test_idempotency_token_is_stable_per_event_and_stream() -> None:
    conf = subscribed("join")
    p = called(status_callback_event=CALL_EVENTS)
    call, conf_cb = P.callbacks_for(event(EventType.PARTICIPANT_JOINED, p, conf))
    assert call.idempotency_token(CONF_SID, 7) == call.idempotency_token(CONF_SID, 7)
    assert call.idempotency_token(CONF_SID, 7) != conf_cb.idempotency_token(CONF_SID, 7)
    assert call.idempotency_token(CONF_SID, 7) != call.idempotency_token(CONF_SID, 8)


# -- the request: signing and encoding ---------------------------------------


def test_post_signature_matches_the_documented_vector() -> None:
    # webhooks.md §5.1, first vector (twilio-python's own test).
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    cb = P.Callback(P.Kind.CALL, url, "POST", {}, "completed")
    request = prepare(cb, params, "token-1", "12345")
    assert request.headers["X-Twilio-Signature"] == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "TwilioProxy/1.1"
    assert request.headers["I-Twilio-Idempotency-Token"] == "token-1"
    assert request.url == url
    assert request.body is not None
    assert dict(parse_qsl(request.body.decode())) == params


def test_get_appends_to_the_existing_query_and_signs_the_full_url() -> None:
    cb = P.Callback(P.Kind.CALL, "https://example.com/cb?tenant=acme", "GET", {}, "completed")
    params = {"CallSid": CALL_SID, "CallStatus": "no-answer", "Timestamp": P.rfc2822(T0)}
    request = prepare(cb, params, "t", "secret")
    assert request.body is None
    assert "Content-Type" not in request.headers
    query = dict(parse_qsl(urlsplit(request.url).query))
    assert query == {"tenant": "acme", **params}
    assert RequestValidator("secret").validate(
        request.url, {}, request.headers["X-Twilio-Signature"]
    )


def test_unknown_account_is_sent_unsigned() -> None:
    cb = P.Callback(P.Kind.CALL, "https://example.com/cb", "POST", {}, "completed")
    assert "X-Twilio-Signature" not in prepare(cb, {"A": "1"}, "t", None).headers


def test_answered_and_completed_callbacks_carry_the_carriers_answered_by() -> None:
    p = called(status_callback_event=CALL_EVENTS)
    detected = dataclasses.replace(p, answered_by="machine_end_beep")
    [answered] = P.callbacks_for(event(EventType.PARTICIPANT_JOINED, detected))
    assert answered.params["AnsweredBy"] == "machine_end_beep"
    done = dataclasses.replace(
        detected, status=ParticipantStatus.COMPLETE, call_status=CallStatus.COMPLETED
    )
    [completed] = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, done))
    assert completed.params["AnsweredBy"] == "machine_end_beep"
    [plain] = P.callbacks_for(event(EventType.PARTICIPANT_JOINED, p))
    assert "AnsweredBy" not in plain.params  # no detection, no parameter
