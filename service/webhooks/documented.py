"""The parameters Twilio documents for each status callback event, written down once.

Rule 1: a call-progress callback may carry the standard voice request
        parameters, the progress ones (CallbackSource, SequenceNumber,
        Timestamp) and, on its event, the event's own (completed: CallDuration,
        Duration, SipResponseCode, AnsweredBy and the recording ones; answered:
        AnsweredBy); Rollcall always sends ALWAYS_CALL (and CallDuration and
        Duration on completed).
Rule 2: a conference callback carries the conference fields on every event,
        the participant fields on participant and announcement events, the
        leave fields on participant-leave, the end fields on conference-end,
        the announcement fields on announcement events.
Rule 3: Rollcall's own extensions (EXTENSIONS) are the only other names;
        undocumented() names anything else, missing() what Rule 1/2 promise.
"""

from __future__ import annotations

from collections.abc import Mapping

# -- call progress (StatusCallback / StatusCallbackEvent) -----------------------

_VOICE = frozenset(
    {
        "CallSid",
        "AccountSid",
        "From",
        "To",
        "CallStatus",
        "ApiVersion",
        "Direction",
        "ForwardedFrom",
        "CallerName",
        "ParentCallSid",
        "Called",
        "Caller",
        *(
            f"{side}{part}"
            for side in ("From", "To")
            for part in ("City", "State", "Zip", "Country")
        ),
        *(
            f"{side}{part}"
            for side in ("Called", "Caller")
            for part in ("City", "State", "Zip", "Country")
        ),
    }
)
_PROGRESS = frozenset({"CallbackSource", "SequenceNumber", "Timestamp"})
CALL_EVENT_PARAMETERS: dict[str, frozenset[str]] = {
    "initiated": _VOICE | _PROGRESS,
    "ringing": _VOICE | _PROGRESS,
    "answered": _VOICE | _PROGRESS | {"AnsweredBy"},
    "completed": _VOICE
    | _PROGRESS
    | {
        "CallDuration",
        "Duration",
        "SipResponseCode",
        "AnsweredBy",
        "RecordingUrl",
        "RecordingSid",
        "RecordingDuration",
    },
}
ALWAYS_CALL = frozenset(
    {
        "CallSid",
        "AccountSid",
        "From",
        "To",
        "Caller",
        "Called",
        "CallStatus",
        "ApiVersion",
        "Direction",
        "CallbackSource",
        "SequenceNumber",
        "Timestamp",
    }
)
ALWAYS_CALL_EVENT: dict[str, frozenset[str]] = {
    "completed": frozenset({"CallDuration", "Duration"})
}

# -- conference events (ConferenceStatusCallback) ---------------------------------

_CONFERENCE = frozenset(
    {"ConferenceSid", "FriendlyName", "AccountSid", "SequenceNumber", "Timestamp"}
)
_PARTICIPANT = frozenset(
    {
        "CallSid",
        "Muted",
        "Hold",
        "Coaching",
        "EndConferenceOnExit",
        "StartConferenceOnEnter",
        "ParticipantLabel",
    }
)
_END = frozenset(
    {
        "CallSidEndingConference",
        "ParticipantLabelEndingConference",
        "ReasonConferenceEnded",
        "Reason",
    }
)
_LEAVE = frozenset({"ParticipantCallStatus", "ReasonParticipantLeft"})
_ANNOUNCEMENT = frozenset({"AnnounceUrl", "ReasonAnnouncementFailed"})
_EVENT = frozenset({"StatusCallbackEvent"})
_PARTICIPANT_EVENTS = (
    "participant-join",
    "participant-mute",
    "participant-unmute",
    "participant-hold",
    "participant-unhold",
    "participant-modify",
    "participant-speech-start",
    "participant-speech-stop",
)
CONFERENCE_EVENT_PARAMETERS: dict[str, frozenset[str]] = {
    "conference-start": _CONFERENCE | _EVENT,
    "conference-end": _CONFERENCE | _EVENT | _END,
    "participant-leave": _CONFERENCE | _EVENT | _PARTICIPANT | _LEAVE,
    "announcement-end": _CONFERENCE | _EVENT | _PARTICIPANT | _ANNOUNCEMENT,
    "announcement-fail": _CONFERENCE | _EVENT | _PARTICIPANT | _ANNOUNCEMENT,
    **{event: _CONFERENCE | _EVENT | _PARTICIPANT for event in _PARTICIPANT_EVENTS},
}
# Sent on every conference event; the participant ones (but the label) on
# participant events; the leave ones on participant-leave.
ALWAYS_CONFERENCE = _CONFERENCE | _EVENT
ALWAYS_CONFERENCE_EVENT: dict[str, frozenset[str]] = {
    **{event: _PARTICIPANT - {"ParticipantLabel"} for event in _PARTICIPANT_EVENTS},
    "participant-leave": (_PARTICIPANT - {"ParticipantLabel"}) | {"ParticipantCallStatus"},
}

# Rollcall's own parameters (named in Rollcall's style, never Twilio's).
EXTENSIONS = frozenset({"RollcallImplied"})


def _documented(params: Mapping[str, str]) -> tuple[frozenset[str], frozenset[str]]:
    """(what may be sent, what Rollcall always sends) for this callback."""
    event = params.get("StatusCallbackEvent")
    if event is not None and "ConferenceSid" in params:
        allowed = CONFERENCE_EVENT_PARAMETERS.get(event, frozenset())
        return allowed, ALWAYS_CONFERENCE | ALWAYS_CONFERENCE_EVENT.get(event, frozenset())
    status = params.get("CallStatus", "")
    word = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}.get(
        status, "completed"
    )
    return (
        CALL_EVENT_PARAMETERS[word],
        ALWAYS_CALL | ALWAYS_CALL_EVENT.get(word, frozenset()),
    )


def undocumented(params: Mapping[str, str]) -> list[str]:
    """Names in a callback that Twilio does not document for its event."""
    allowed, _ = _documented(params)
    return sorted(set(params) - allowed - EXTENSIONS)


def missing(params: Mapping[str, str]) -> list[str]:
    """Names Rollcall always sends for this event that the callback lacks."""
    _, always = _documented(params)
    return sorted(always - set(params))
