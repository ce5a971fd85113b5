"""Unit tests (issue 25): implied call-progress steps (RollcallImplied), the carrier's
end-of-call fields, and its reason an announcement failed."""

from __future__ import annotations

import dataclasses

import pytest

from service.core.events import Event, EventType
from service.core.records import Conference, Participant, StatusCallback, event_words
from service.core.statuses import CallStatus, ConferenceStatus, ParticipantStatus
from service.webhooks import documented
from service.webhooks import params as P

T0 = 1_496_350_112.0
ACCOUNT = "AC" + "a" * 32
CONF_SID = "CF" + "e" * 32


def called(status_callback_event: str) -> Participant:
    return Participant(
        call_sid="CA" + "1" * 32,
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
        status_callback=StatusCallback(
            "https://example.com/call", "POST", event_words(status_callback_event)
        ),
    )


def event(kind: EventType, p: Participant) -> Event:
    conf = Conference(
        sid=CONF_SID,
        account_sid=ACCOUNT,
        friendly_name="MyConf",
        status=ConferenceStatus.IN_PROGRESS,
        revision=1,
        max_participants=250,
        date_created=T0,
        date_updated=T0,
    )
    return Event(CONF_SID, ACCOUNT, 7, T0, kind, conf, p)


EVERY = "initiated ringing answered completed"


def words(kind: EventType, **changes: object) -> list[tuple[str, str | None]]:
    p = called(status_callback_event=EVERY)
    for name, value in changes.items():
        setattr(p, name, value)
    return [(c.word, c.params.get(P.IMPLIED)) for c in P.callbacks_for(event(kind, p))]


def test_an_answer_with_no_step_before_implies_dialing_and_ringing_first() -> None:
    assert words(EventType.PARTICIPANT_JOINED, progress=["answered"]) == [
        ("initiated", "true"),
        ("ringing", "true"),
        ("answered", None),
    ]


def test_steps_already_reported_are_never_sent_again() -> None:
    progress = ["initiated", "ringing", "answered"]
    assert words(EventType.PARTICIPANT_JOINED, progress=progress) == [("answered", None)]
    assert words(
        EventType.CALL_STATUS_CHANGED,
        status=ParticipantStatus.RINGING,
        call_status=CallStatus.RINGING,
        progress=["ringing"],
    ) == [("initiated", "true"), ("ringing", None)]


@pytest.mark.parametrize(
    ("status", "implied"),
    [
        (CallStatus.NO_ANSWER, ["initiated", "ringing"]),
        (CallStatus.BUSY, ["initiated"]),
        (CallStatus.CANCELED, ["initiated"]),
        (CallStatus.FAILED, []),
    ],
)
def test_a_call_never_answered_implies_what_its_end_says(
    status: CallStatus, implied: list[str]
) -> None:
    got = words(
        EventType.PARTICIPANT_LEFT,
        status=ParticipantStatus.FAILED,
        call_status=status,
        progress=[],
    )
    assert got == [*((w, "true") for w in implied), ("completed", None)]


def test_an_answered_calls_end_implies_nothing_and_old_rows_imply_nothing() -> None:
    ended = {"status": ParticipantStatus.COMPLETE, "call_status": CallStatus.COMPLETED}
    assert words(EventType.PARTICIPANT_LEFT, progress=["answered"], **ended) == [
        ("completed", None)
    ]
    assert words(EventType.PARTICIPANT_JOINED, progress=None) == [("answered", None)]


def test_only_selected_steps_are_implied_and_each_has_its_own_token() -> None:
    p = called(status_callback_event="ringing answered")
    p.progress = ["answered"]
    callbacks = P.callbacks_for(event(EventType.PARTICIPANT_JOINED, p))
    assert [(c.word, c.implied) for c in callbacks] == [("ringing", True), ("answered", False)]
    assert callbacks[0].params["CallStatus"] == "ringing"
    tokens = {c.idempotency_token("CF1", 7) for c in callbacks}
    assert len(tokens) == 2


def test_the_carriers_end_of_call_fields_win_over_rollcalls_count() -> None:
    p = called(status_callback_event="completed")
    p.status, p.call_status = ParticipantStatus.COMPLETE, CallStatus.COMPLETED
    p.answered_at, p.ended_at = 100.0, 161.0
    (own,) = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, p))
    assert (own.params["CallDuration"], own.params["Duration"]) == ("61", "2")
    assert "SipResponseCode" not in own.params
    p.carrier_call_duration, p.carrier_duration, p.sip_response_code = 59, 1, 200
    (carriers,) = P.callbacks_for(event(EventType.PARTICIPANT_LEFT, p))
    assert (
        carriers.params["CallDuration"],
        carriers.params["Duration"],
        carriers.params["SipResponseCode"],
    ) == ("59", "1", "200")
    assert documented.undocumented({**carriers.params, "SequenceNumber": "0"}) == []


def test_the_carriers_reason_an_announcement_failed_reaches_the_tenant() -> None:
    p = called(status_callback_event="completed")
    p.announce_url, p.announcement_failure = "https://example.com/a", "Internal error"
    conf_events = StatusCallback("https://example.com/conf", "POST", ("announcement",))
    failed = event(EventType.ANNOUNCEMENT_FAILED, p)
    failed = dataclasses.replace(
        failed, conference=dataclasses.replace(failed.conference, status_callback=conf_events)
    )
    (callback,) = P.callbacks_for(failed)
    assert callback.params["ReasonAnnouncementFailed"] == "Internal error"
    wide = dataclasses.replace(
        failed,
        participant=None,
        conference=dataclasses.replace(
            failed.conference, announce_url="https://example.com/all", announcement_failure="x"
        ),
    )
    (callback,) = P.callbacks_for(wide)
    assert (callback.params["AnnounceUrl"], callback.params["ReasonAnnouncementFailed"]) == (
        "https://example.com/all",
        "x",
    )
    assert documented.undocumented({**callback.params, "SequenceNumber": "1"}) == []
