"""Twilio wire forms for the carrier: the Create and Update bodies, and answers read back.

Rule 1: forms are lists of (name, value) pairs in the order Twilio's SDKs
send them, lists as one pair per value, booleans as lowercase `true`/`false`.
Rule 2: the carrier always asks for every call-progress event and every
conference event Rollcall applies, with callbacks to its own ingest URLs;
the event words are Twilio's, from clients.words.
Rule 3: the other Create parameters go as sent (already in Twilio's words),
under Twilio's names, except those the carrier sets itself.
Rule 4: an Update body is the combination that takes effect: a change Twilio
ignores on a held participant unless sent with Hold goes with Hold=true.
"""

from __future__ import annotations

import dataclasses
import email.utils
import string
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from clients.words import enum_words
from rollcall.v1 import enums_pb2
from service.core.ports.carrier import (
    Announce,
    BeepOnExit,
    Coach,
    EndConferenceOnExit,
    Hold,
    MoveCall,
    Mute,
    ParticipantChange,
    PlaceCall,
    Placed,
    SetRole,
    Wait,
)
from service.core.statuses import CallStatus, ParticipantStatus, Role

CALL_EVENTS = tuple(enum_words(enums_pb2.CallEvent.DESCRIPTOR))
# Every conference event, `speaker` included (speech reports: service.core.speech).
CONFERENCE_EVENTS = tuple(enum_words(enums_pb2.ConferenceCallbackEvent.DESCRIPTOR))
LABEL_PREFIX = "rc-"
CONFERENCE_PREFIX = "rollcall-"
_HEX = frozenset(string.hexdigits)
# Create fields only the adapter sets: Rollcall's ingest needs every event, signed.
_ADAPTER_OWNED = frozenset(
    {
        "StatusCallback",
        "StatusCallbackMethod",
        "StatusCallbackEvent",
        "ConferenceStatusCallback",
        "ConferenceStatusCallbackMethod",
        "ConferenceStatusCallbackEvent",
        "Label",
        "From",
        "To",
        # Set from the role (a whisper to one target is Twilio's coach).
        "Coaching",
        "CallSidToCoach",
    }
)


@dataclasses.dataclass(frozen=True)
class CallbackUrls:
    """Where the carrier posts call progress and conference events (public URLs)."""

    call_status: str
    conference_status: str


def label_for(key: str) -> str:
    """The label the adapter asks the carrier for: never CA-shaped, no '/', <= 128 chars."""
    return (LABEL_PREFIX + key.replace("/", "_"))[:128]


def conference_name(conference: str) -> str:
    """The carrier conference's friendly name for a Rollcall conference (never CF-shaped)."""
    return CONFERENCE_PREFIX + conference


def conference_of(friendly_name: str) -> str | None:
    """The Rollcall conference a carrier conference was named after (conference_name's
    inverse); None when the name is not one of Rollcall's."""
    sid = friendly_name.removeprefix(CONFERENCE_PREFIX)
    shaped = len(sid) == 34 and sid.startswith("CF") and _HEX.issuperset(sid[2:])
    return sid if friendly_name.startswith(CONFERENCE_PREFIX) and shaped else None


def announce_form(url: str, method: str | None) -> list[tuple[str, str]]:
    """An announcement to a whole conference (Update Conference)."""
    form = [("AnnounceUrl", url)]
    if method is not None:
        form.append(("AnnounceMethod", method))
    return form


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _wire_name(parameter: str) -> str:
    """A Create parameter's Twilio form name (`conference_record` -> ConferenceRecord)."""
    return "".join(part.capitalize() for part in parameter.split("_"))


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wire_form(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Create parameters as sent (in Twilio's words) as Twilio form fields:
    Twilio's names, booleans as `true`/`false`, a list as one field per value
    (the way Twilio's SDKs send them)."""
    form: list[tuple[str, str]] = []
    for name, value in settings.items():
        values = value if isinstance(value, list) else [value]
        form.extend((_wire_name(name), _wire_value(v)) for v in values if v is not None)
    return form


def create_form(call: PlaceCall, callbacks: CallbackUrls) -> list[tuple[str, str]]:
    form = [
        ("From", call.from_endpoint),
        ("To", call.to_endpoint),
        ("StatusCallback", callbacks.call_status),
        ("StatusCallbackMethod", "POST"),
        *(("StatusCallbackEvent", event) for event in CALL_EVENTS),
        ("Label", label_for(call.key)),
        ("Timeout", str(call.timeout_seconds)),
        ("Muted", _bool(call.muted)),
        ("Beep", call.beep),
        ("StartConferenceOnEnter", _bool(call.start_conference_on_enter)),
        ("EndConferenceOnExit", _bool(call.end_conference_on_exit)),
        ("EarlyMedia", _bool(call.early_media)),
        ("MaxParticipants", str(call.max_participants)),
        ("ConferenceStatusCallback", callbacks.conference_status),
        ("ConferenceStatusCallbackMethod", "POST"),
        *(("ConferenceStatusCallbackEvent", event) for event in CONFERENCE_EVENTS),
        ("TimeLimit", str(call.time_limit_seconds)),
    ]
    if call.wait_url is not None:
        form += [("WaitUrl", call.wait_url), ("WaitMethod", call.wait_method)]
    if call.role is Role.WHISPER:
        form += [("Coaching", "true"), ("CallSidToCoach", _one_target(call.whisper_targets))]
    taken = {name for name, _ in form} | _ADAPTER_OWNED
    form += [(name, value) for name, value in wire_form(call.parameters) if name not in taken]
    return form


# Changes Twilio accepts and ignores on a held participant unless Hold comes
# with them (reported by Twilio's users for EndConferenceOnExit): sent with
# Hold=true, which keeps the participant held and makes them take effect.
NEEDS_HOLD_WHEN_HELD = (EndConferenceOnExit,)


def update_form(
    changes: tuple[ParticipantChange, ...], *, held: bool = False
) -> list[tuple[str, str]]:
    """The Update body for `changes`; `held`: the participant is on hold now
    (Rule 4: the combination that takes effect)."""
    form: list[tuple[str, str]] = []
    holding = any(isinstance(change, Hold) for change in changes)
    if held and not holding and any(isinstance(c, NEEDS_HOLD_WHEN_HELD) for c in changes):
        form.append(("Hold", "true"))
    for change in changes:
        match change:
            case Mute(muted=muted):
                form.append(("Muted", _bool(muted)))
            case Hold(hold=hold, hold_url=url, hold_method=method):
                form.append(("Hold", _bool(hold)))
                if url is not None:
                    form.append(("HoldUrl", url))
                if method is not None:
                    form.append(("HoldMethod", method))
            case Announce(url=url, method=method):
                form.append(("AnnounceUrl", url))
                if method is not None:
                    form.append(("AnnounceMethod", method))
            case Coach(coaching=coaching, call_sid_to_coach=target):
                form.append(("Coaching", _bool(coaching)))
                if coaching and target:
                    form.append(("CallSidToCoach", target))
            case SetRole(role=role, whisper_targets=targets, muted=muted):
                form += role_form(role, targets, muted)
            case BeepOnExit(beep=beep):
                form.append(("BeepOnExit", _bool(beep)))
            case EndConferenceOnExit(end=end):
                form.append(("EndConferenceOnExit", _bool(end)))
            case Wait(url=url, method=method):
                form.append(("WaitUrl", url or ""))
                if method is not None:
                    form.append(("WaitMethod", method))
    return form


def role_form(role: Role, targets: tuple[str, ...], muted: bool) -> list[tuple[str, str]]:
    """A role in the participant fields Twilio has: monitor is muted and not
    coaching; a whisper to one target is coaching with CallSidToCoach; barge
    and none are not coaching (muted as the core says: barge unmuted)."""
    if role is Role.WHISPER:
        return [
            ("Muted", _bool(muted)),
            ("Coaching", "true"),
            ("CallSidToCoach", _one_target(targets)),
        ]
    return [("Muted", _bool(muted)), ("Coaching", "false")]


def _one_target(targets: tuple[str, ...]) -> str:
    # The core asks whisper_limit first: more never reaches this adapter.
    if len(targets) != 1:
        raise ValueError(f"Twilio coaches exactly one call, not {len(targets)}")
    return targets[0]


def move_twiml(move: MoveCall, callbacks: CallbackUrls) -> str:
    """The TwiML that takes a call into the destination's carrier conference
    (Twilio's <Dial><Conference>), with the role's fields as its attributes
    and the same conference events, to the same ingest URL, as a Create asks."""
    attributes = {
        "muted": _bool(move.muted),
        "beep": "false",
        "startConferenceOnEnter": "true",
        "endConferenceOnExit": "false",
        "statusCallback": callbacks.conference_status,
        "statusCallbackMethod": "POST",
        "statusCallbackEvent": " ".join(CONFERENCE_EVENTS),
    }
    if move.role is Role.WHISPER:
        attributes["coach"] = _one_target(move.whisper_targets)
    response = ElementTree.Element("Response")
    conference = ElementTree.SubElement(
        ElementTree.SubElement(response, "Dial"), "Conference", attributes
    )
    conference.text = conference_name(move.conference)
    return ElementTree.tostring(response, encoding="unicode")


def placed_from(body: Any) -> Placed | None:
    """The carrier's participant JSON -> Placed (None when it lacks the SIDs)."""
    if not isinstance(body, dict):
        return None
    call_sid, conference_sid = body.get("call_sid"), body.get("conference_sid")
    if not isinstance(call_sid, str) or not isinstance(conference_sid, str):
        return None
    queue: float | None
    try:
        queue = float(body["queue_time"]) if body.get("queue_time") is not None else None
    except (TypeError, ValueError):
        queue = None
    # No progress at dial time (the port's Rule 6): the answer's status is
    # the participant's, and the call's own steps come as callbacks, numbered.
    return Placed(call_sid=call_sid, conference_sid=conference_sid, queue_time_ms=queue)


# A live participant's status -> the call status it implies.
_PARTICIPANT_CALL_STATUS: dict[str, CallStatus] = {
    ParticipantStatus.QUEUED: CallStatus.QUEUED,
    ParticipantStatus.CONNECTING: CallStatus.INITIATED,
    ParticipantStatus.RINGING: CallStatus.RINGING,
    ParticipantStatus.CONNECTED: CallStatus.IN_PROGRESS,
    ParticipantStatus.COMPLETE: CallStatus.COMPLETED,
    ParticipantStatus.FAILED: CallStatus.FAILED,
}


def participant_call_status(body: Any) -> CallStatus:
    status = body.get("status") if isinstance(body, dict) else None
    return _PARTICIPANT_CALL_STATUS.get(
        status if isinstance(status, str) else "", CallStatus.QUEUED
    )


def rfc2822(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
