"""Unit tests: the documented parameter lists judge a callback's names."""

from __future__ import annotations

from service.webhooks import documented

CALL = {
    "CallSid": "CA1",
    "AccountSid": "AC1",
    "From": "+1",
    "To": "+2",
    "Caller": "+1",
    "Called": "+2",
    "CallStatus": "completed",
    "ApiVersion": "2010-04-01",
    "Direction": "outbound-api",
    "CallbackSource": "call-progress-events",
    "SequenceNumber": "3",
    "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
    "CallDuration": "61",
    "Duration": "2",
}


def test_a_complete_call_end_passes_and_a_missing_or_unknown_name_is_named() -> None:
    assert documented.undocumented(CALL) == [] and documented.missing(CALL) == []
    assert documented.missing({k: v for k, v in CALL.items() if k != "Duration"}) == ["Duration"]
    assert documented.undocumented({**CALL, "Bogus": "1", "RollcallImplied": "true"}) == ["Bogus"]


def test_end_of_call_fields_are_not_documented_for_an_earlier_step() -> None:
    ringing = {**CALL, "CallStatus": "ringing"}
    assert documented.undocumented(ringing) == ["CallDuration", "Duration"]
    del ringing["CallDuration"], ringing["Duration"]
    assert documented.undocumented(ringing) == [] and documented.missing(ringing) == []


def test_conference_events_have_their_own_lists() -> None:
    base = {
        "ConferenceSid": "CF1",
        "FriendlyName": "room",
        "AccountSid": "AC1",
        "SequenceNumber": "1",
        "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
    }
    end = {**base, "StatusCallbackEvent": "conference-end", "ReasonConferenceEnded": "x"}
    assert documented.undocumented(end) == [] and documented.missing(end) == []
    start = {**base, "StatusCallbackEvent": "conference-start", "ReasonConferenceEnded": "x"}
    assert documented.undocumented(start) == ["ReasonConferenceEnded"]
    leave = {**base, "StatusCallbackEvent": "participant-leave", "CallSid": "CA1"}
    assert documented.missing(leave) == [
        "Coaching",
        "EndConferenceOnExit",
        "Hold",
        "Muted",
        "ParticipantCallStatus",
        "StartConferenceOnEnter",
    ]
