"""Which Twilio callbacks an event produces, and their exact parameters.

Rule 1: a participant's StatusCallback gets only the selected call-progress
words (default `completed`); the conference's StatusCallback, from the
conference's settings (fixed by its first participant), gets only the
selected conference words (default `start end`).
Rule 2: every value is a string; booleans are lowercase `true`/`false`; the
selection words are Twilio's, from clients.words, and every other value is
the domain's own Twilio word.
Rule 3: pure functions, no I/O and no clock, so the same event always yields
the same callbacks (a retry or a restart re-sends exactly what the first
attempt sent).
Rule 4: SequenceNumber is not set here: it comes from the dispatcher's
durable counters.
Rule 5: a tenant gets each selected call-progress step once per call, in
order: a step the carrier never reported (or reported too late to count)
and a later one implies is sent just before it, with RollcallImplied=true.
Rule 6: every parameter Twilio documents for the event that is known goes
out (the carrier's CallDuration, Duration, SipResponseCode and AnsweredBy on
the call's end); documented.py lists them, and the tests hold both to it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid

from clients.words import words_by_number
from rollcall.v1 import enums_pb2 as en
from service.core.events import Event, EventType
from service.core.records import Conference, Participant
from service.core.statuses import CallStatus, EndReason, ParticipantStatus

API_VERSION = "2010-04-01"

# Twilio's StatusCallbackEvent selection words.
_CALL = words_by_number(en.CallEvent.DESCRIPTOR)
INITIATED, RINGING, ANSWERED, COMPLETED = (
    _CALL[en.CALL_EVENT_INITIATED],
    _CALL[en.CALL_EVENT_RINGING],
    _CALL[en.CALL_EVENT_ANSWERED],
    _CALL[en.CALL_EVENT_COMPLETED],
)
_CONFERENCE = words_by_number(en.ConferenceCallbackEvent.DESCRIPTOR)
START, END, ANNOUNCEMENT = (
    _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_START],
    _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_END],
    _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_ANNOUNCEMENT],
)
DEFAULT_CALL_EVENTS = frozenset({COMPLETED})
DEFAULT_CONFERENCE_EVENTS = frozenset({START, END})

# Rollcall's own parameter on a call-progress callback for a step the carrier
# never reported and a later step implies (Rule 5).
IMPLIED = "RollcallImplied"

_TOKEN_NAMESPACE = uuid.UUID("4f3c8c1e-7a43-4b8e-9a57-52f0d0b1c0de")

# Conference event -> the selection word that subscribes to it.
CONFERENCE_WORDS: dict[EventType, str] = {
    EventType.CONFERENCE_STARTED: START,
    EventType.CONFERENCE_ENDED: END,
    EventType.PARTICIPANT_JOINED: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_JOIN],
    EventType.PARTICIPANT_LEFT: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_LEAVE],
    EventType.PARTICIPANT_MUTED: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_MUTE],
    EventType.PARTICIPANT_UNMUTED: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_MUTE],
    EventType.PARTICIPANT_HELD: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_HOLD],
    EventType.PARTICIPANT_UNHELD: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_HOLD],
    EventType.PARTICIPANT_MODIFIED: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_MODIFY],
    # A role change is, in Twilio's words, a change of Coaching: a modify.
    EventType.PARTICIPANT_ROLE_CHANGED: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_MODIFY],
    # A move is, in Twilio's words, a leave here and a join there.
    EventType.PARTICIPANT_MOVED_OUT: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_LEAVE],
    EventType.PARTICIPANT_MOVED_IN: _CONFERENCE[en.CONFERENCE_CALLBACK_EVENT_JOIN],
    EventType.ANNOUNCEMENT_ENDED: ANNOUNCEMENT,
    EventType.ANNOUNCEMENT_FAILED: ANNOUNCEMENT,
}
# Rollcall's own event types -> the StatusCallbackEvent Twilio sends for them.
_TWILIO_EVENT = {
    EventType.PARTICIPANT_ROLE_CHANGED: EventType.PARTICIPANT_MODIFIED.value,
    EventType.PARTICIPANT_MOVED_OUT: EventType.PARTICIPANT_LEFT.value,
    EventType.PARTICIPANT_MOVED_IN: EventType.PARTICIPANT_JOINED.value,
}

_END_REASON_TEXT = {
    EndReason.CONFERENCE_ENDED_VIA_API: "Conference ended via API",
    EndReason.LAST_PARTICIPANT_KICKED: "Last participant {sid} was removed from the conference",
    EndReason.LAST_PARTICIPANT_LEFT: "Last participant {sid} left the conference",
    EndReason.EOE_KICKED: (
        "Participant {sid} with endConferenceOnExit was removed from the conference"
    ),
    EndReason.EOE_LEFT: "Participant {sid} with endConferenceOnExit left the conference",
}


class Kind(enum.StrEnum):
    """Which stream a callback belongs to (also the metrics label)."""

    CALL = "call"
    CONFERENCE = "conference"


@dataclasses.dataclass(frozen=True)
class Callback:
    """One callback to send, without its SequenceNumber."""

    kind: Kind
    url: str
    method: str
    params: dict[str, str]
    # The Twilio word it reports (`ringing`, `participant-join`), for logs.
    word: str
    # Whose per-call sequence numbers it uses (call callbacks only).
    call_sid: str | None = None
    # A call-progress step the event implies and no event of its own
    # reported (Rule 5), sent before the event's own callback.
    implied: bool = False

    def idempotency_token(self, conference_sid: str, revision: int) -> str:
        """Stable across retries and restarts: one per (event, stream, implied step)."""
        name = f"{conference_sid}/{revision}/{self.kind}"
        return str(uuid.uuid5(_TOKEN_NAMESPACE, f"{name}/{self.word}" if self.implied else name))


def rfc2822(seconds: float) -> str:
    """`Thu, 01 Jun 2017 20:48:32 +0000`, as Twilio's Timestamp."""
    moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def boolean(value: bool) -> str:
    return "true" if value else "false"


def call_events(p: Participant) -> frozenset[str]:
    return frozenset(p.status_callback.events) or DEFAULT_CALL_EVENTS


def conference_events(conf: Conference) -> frozenset[str]:
    return frozenset(conf.status_callback.events) or DEFAULT_CONFERENCE_EVENTS


def call_progress_word(event: Event) -> str | None:
    """The StatusCallbackEvent word an event reports for its participant's call."""
    p = event.participant
    if p is None:
        return None
    if event.type is EventType.CALL_STATUS_CHANGED:
        if p.status is ParticipantStatus.CONNECTING:
            return INITIATED
        if p.status is ParticipantStatus.RINGING:
            return RINGING
        return None
    if event.type is EventType.PARTICIPANT_JOINED:
        return ANSWERED
    if event.type is EventType.PARTICIPANT_LEFT:
        return COMPLETED
    return None


def implied_steps(event: Event) -> list[str]:
    """The earlier call-progress words this event's step implies that no event
    of the call reported (Rule 5), in order: answering implies dialing and
    ringing, ringing implies dialing, a call given up unanswered implies
    dialing (and ringing, when nobody answered)."""
    p = event.participant
    word = call_progress_word(event)
    if p is None or word is None or p.progress is None:
        return []  # a row from before the steps were kept: nothing is known
    if word == RINGING:
        before = [INITIATED]
    elif word == ANSWERED:
        before = [INITIATED, RINGING]
    elif word == COMPLETED and ANSWERED not in p.progress:
        if p.call_status is CallStatus.NO_ANSWER:
            before = [INITIATED, RINGING]
        elif p.call_status in (CallStatus.BUSY, CallStatus.CANCELED):
            before = [INITIATED]
        else:
            before = []
    else:
        before = []
    return [step for step in before if step not in p.progress]


def call_callbacks(event: Event) -> list[Callback]:
    """The participant's StatusCallbacks for this event, if selected: the
    steps it implies first (each marked RollcallImplied=true), then its own."""
    p = event.participant
    word = call_progress_word(event)
    if p is None or word is None:
        return []
    selected = call_events(p)
    found = [
        _call_callback(event, p, step, implied=True)
        for step in implied_steps(event)
        if step in selected
    ]
    if word in selected:
        found.append(_call_callback(event, p, word, implied=False))
    return [c for c in found if c is not None]


def call_callback(event: Event) -> Callback | None:
    """The participant's own StatusCallback for this event, if selected."""
    p = event.participant
    word = call_progress_word(event)
    if p is None or word is None or word not in call_events(p):
        return None
    return _call_callback(event, p, word, implied=False)


def _call_callback(event: Event, p: Participant, word: str, *, implied: bool) -> Callback | None:
    url = p.status_callback.url or ""
    if not url:
        return None
    if word == INITIATED:
        status = CallStatus.INITIATED.value
    elif word == RINGING:
        status = CallStatus.RINGING.value
    elif word == ANSWERED:
        status = CallStatus.IN_PROGRESS.value
    else:
        status = p.call_status.value
    params = {
        "CallSid": p.call_sid,
        "AccountSid": p.account_sid,
        "From": p.from_endpoint,
        "To": p.to_endpoint,
        "Caller": p.from_endpoint,
        "Called": p.to_endpoint,
        "CallStatus": status,
        "ApiVersion": API_VERSION,
        "Direction": "outbound-api",
        "CallbackSource": "call-progress-events",
        "Timestamp": rfc2822(event.time),
    }
    if word == COMPLETED:
        params.update(end_of_call_fields(p))
    if p.answered_by and word in (ANSWERED, COMPLETED):
        params["AnsweredBy"] = p.answered_by  # the carrier's machine detection
    if implied:
        params[IMPLIED] = "true"
    return Callback(
        Kind.CALL,
        url,
        p.status_callback.method,
        params,
        word,
        call_sid=p.call_sid,
        implied=implied,
    )


def end_of_call_fields(p: Participant) -> dict[str, str]:
    """CallDuration and Duration (the carrier's, else Rollcall's own count:
    whole seconds answered, and whole minutes rounded up, as Twilio counts
    them), and SipResponseCode when the carrier gave it."""
    seconds = call_duration(p) if p.carrier_call_duration is None else p.carrier_call_duration
    minutes = -(-seconds // 60) if p.carrier_duration is None else p.carrier_duration
    fields = {"CallDuration": str(seconds), "Duration": str(minutes)}
    if p.sip_response_code is not None:
        fields["SipResponseCode"] = str(p.sip_response_code)
    return fields


def call_duration(p: Participant) -> int:
    """Whole seconds between answer and hang-up (0 for a call never answered)."""
    if p.answered_at is None or p.ended_at is None:
        return 0
    return max(0, int(p.ended_at - p.answered_at))


def needs_ending_label(event: Event) -> bool:
    """Whether conference_callback wants the label of the participant who ended it."""
    conf = event.conference
    return (
        event.type is EventType.CONFERENCE_ENDED
        and conf.call_sid_ending_conference is not None
        and bool(conf.status_callback.url)
        and END in conference_events(conf)
    )


def alert_callback(event: Event) -> Callback | None:
    """A CONFERENCE_ALERT to the conference's StatusCallback, whatever its
    selection (no Twilio word subscribes to Rollcall's alerts): Twilio's
    conference fields, StatusCallbackEvent `conference-alert`, and the alert
    as AlertKind, AlertThresholdSeconds, AlertSince (RFC 2822),
    AlertEndsConference, with the participant's fields for a hold."""
    conf, alert = event.conference, event.alert
    url = conf.status_callback.url or ""
    if alert is None or not url:
        return None
    params = {
        "ConferenceSid": conf.sid,
        "FriendlyName": conf.friendly_name,
        "AccountSid": conf.account_sid,
        "Timestamp": rfc2822(event.time),
        "StatusCallbackEvent": event.type.value,
        "AlertKind": alert.kind.value,
        "AlertThresholdSeconds": f"{alert.threshold_seconds:g}",
        "AlertSince": rfc2822(alert.since),
        "AlertEndsConference": boolean(alert.ends_conference),
    }
    if event.participant is not None:
        params.update(participant_fields(event.participant))
    return Callback(Kind.CONFERENCE, url, conf.status_callback.method, params, event.type.value)


def conference_callback(event: Event, *, ending_label: str | None = None) -> Callback | None:
    """The conference's StatusCallback for this event, if selected."""
    conf = event.conference
    if event.type is EventType.CONFERENCE_ALERT:
        return alert_callback(event)
    word = CONFERENCE_WORDS.get(event.type)
    url = conf.status_callback.url or ""
    if word is None or not url or word not in conference_events(conf):
        return None
    params = {
        "ConferenceSid": conf.sid,
        "FriendlyName": conf.friendly_name,
        "AccountSid": conf.account_sid,
        "Timestamp": rfc2822(event.time),
        "StatusCallbackEvent": _TWILIO_EVENT.get(event.type, event.type.value),
    }
    p = event.participant
    if p is not None:
        params.update(participant_fields(p))
        if event.type is EventType.PARTICIPANT_LEFT:
            params["ParticipantCallStatus"] = p.call_status.value
            if p.leave_reason.value:
                params["ReasonParticipantLeft"] = p.leave_reason.value
        if word == ANNOUNCEMENT and p.announce_url:
            params["AnnounceUrl"] = p.announce_url
        failure = p.announcement_failure
    elif word == ANNOUNCEMENT:
        if conf.announce_url:
            params["AnnounceUrl"] = conf.announce_url  # announced to the whole conference
        failure = conf.announcement_failure
    else:
        failure = None
    if event.type is EventType.ANNOUNCEMENT_FAILED and failure:
        params["ReasonAnnouncementFailed"] = failure  # the carrier's words
    if event.type is EventType.CONFERENCE_ENDED:
        params.update(end_fields(conf, ending_label))
    return Callback(
        Kind.CONFERENCE,
        url,
        conf.status_callback.method,
        params,
        event.type.value,
    )


def participant_fields(p: Participant) -> dict[str, str]:
    fields = {
        "CallSid": p.call_sid,
        "Muted": boolean(p.muted),
        "Hold": boolean(p.hold),
        "Coaching": boolean(p.coaching),
        "EndConferenceOnExit": boolean(p.end_conference_on_exit),
        "StartConferenceOnEnter": boolean(p.start_conference_on_enter),
    }
    if p.label:
        fields["ParticipantLabel"] = p.label
    return fields


def end_fields(conf: Conference, ending_label: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    if conf.call_sid_ending_conference:
        fields["CallSidEndingConference"] = conf.call_sid_ending_conference
        if ending_label:
            fields["ParticipantLabelEndingConference"] = ending_label
    if conf.end_reason.value:
        fields["ReasonConferenceEnded"] = conf.end_reason.value
        sid = conf.call_sid_ending_conference or ""
        fields["Reason"] = _END_REASON_TEXT[conf.end_reason].format(sid=sid)
    return fields


def callbacks_for(event: Event, *, ending_label: str | None = None) -> list[Callback]:
    """Every callback an event produces, in the order Twilio would send them:
    a call is answered before it joins, and leaves before its call completes."""
    calls = call_callbacks(event)
    conference = conference_callback(event, ending_label=ending_label)
    if conference is None:
        return calls
    return (
        [conference, *calls] if event.type is EventType.PARTICIPANT_LEFT else [*calls, conference]
    )
