"""Twilio's call-progress and conference callback forms, read into reports.

Rule 1: pure functions of the posted form, no I/O.
Rule 2: a form that is not a callback Rollcall understands raises Malformed
naming the field, never echoing a value.
Rule 3: every accepted form yields exactly one report in the carrier's own
words (service.core.statuses.CallStatus, ConferenceEvent), SequenceNumber
included, so the core orders by it.
"""

from __future__ import annotations

import email.utils
import string
from collections.abc import Mapping

from service.carriers.twilio.forms import conference_of
from service.core.ports.carrier import (
    CallReport,
    ConferenceEvent,
    ConferenceReport,
    Report,
)
from service.core.statuses import CallStatus

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
SIGNATURE_HEADER = "X-Twilio-Signature"
_HEX = frozenset(string.hexdigits)


class Malformed(ValueError):
    """The form is not a callback Rollcall understands (names the field)."""


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise Malformed(f"{name} is missing")
    return value


def _int(form: Mapping[str, str], name: str, *, required: bool) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise Malformed(f"{name} is missing")
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Malformed(f"{name} is not a non-negative integer")
    return int(value)


def _bool(form: Mapping[str, str], name: str) -> bool | None:
    value = form.get(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise Malformed(f"{name} is not true or false")
    return lowered == "true"


def _timestamp(form: Mapping[str, str]) -> float:
    value = _required(form, "Timestamp")
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        raise Malformed("Timestamp is not an RFC 2822 date") from None


def _sid(form: Mapping[str, str], name: str, prefix: str, *, required: bool) -> str | None:
    value = form.get(name)
    if not value:
        if required:
            raise Malformed(f"{name} is missing")
        return None
    if len(value) != 34 or not value.startswith(prefix) or not _HEX.issuperset(value[2:]):
        raise Malformed(f"{name} is not a {prefix} SID")
    return value


def _optional(form: Mapping[str, str], name: str) -> str | None:
    return form.get(name) or None


def parse_call_report(form: Mapping[str, str]) -> CallReport:
    """A call-progress callback (StatusCallback with CallStatus)."""
    call_sid = _sid(form, "CallSid", "CA", required=True)
    assert call_sid is not None
    try:
        status = CallStatus(_required(form, "CallStatus"))
    except ValueError:
        raise Malformed("CallStatus is not a call status") from None
    return CallReport(
        call_sid=call_sid,
        status=status,
        timestamp=_timestamp(form),
        sequence_number=_int(form, "SequenceNumber", required=True),
        account_sid=_required(form, "AccountSid"),
        answered_by=_optional(form, "AnsweredBy"),
        duration_seconds=_int(form, "CallDuration", required=False),
        duration=_int(form, "Duration", required=False),
        sip_response_code=_int(form, "SipResponseCode", required=False),
    )


def parse_conference_report(form: Mapping[str, str]) -> ConferenceReport:
    """A conference status callback (ConferenceStatusCallback)."""
    try:
        event = ConferenceEvent(_required(form, "StatusCallbackEvent"))
    except ValueError:
        raise Malformed("StatusCallbackEvent is not a conference event") from None
    conference_sid = _sid(form, "ConferenceSid", "CF", required=True)
    assert conference_sid is not None
    participant_status: CallStatus | None = None
    if form.get("ParticipantCallStatus"):
        try:
            participant_status = CallStatus(form["ParticipantCallStatus"])
        except ValueError:
            raise Malformed("ParticipantCallStatus is not a call status") from None
    participant_event = event.value.startswith(("participant-", "announcement-"))
    required_call = participant_event and not event.value.startswith("announcement-")
    return ConferenceReport(
        event=event,
        conference_sid=conference_sid,
        sequence_number=_int(form, "SequenceNumber", required=True) or 0,
        timestamp=_timestamp(form),
        account_sid=_required(form, "AccountSid"),
        friendly_name=form.get("FriendlyName", ""),
        call_sid=_sid(form, "CallSid", "CA", required=required_call),
        label=_optional(form, "ParticipantLabel"),
        muted=_bool(form, "Muted"),
        hold=_bool(form, "Hold"),
        coaching=_bool(form, "Coaching"),
        end_conference_on_exit=_bool(form, "EndConferenceOnExit"),
        start_conference_on_enter=_bool(form, "StartConferenceOnEnter"),
        leave_reason=_optional(form, "ReasonParticipantLeft"),
        participant_call_status=participant_status,
        end_reason=_optional(form, "ReasonConferenceEnded"),
        ended_by_call_sid=_sid(form, "CallSidEndingConference", "CA", required=False),
        ended_by_label=_optional(form, "ParticipantLabelEndingConference"),
        announce_url=_optional(form, "AnnounceUrl"),
        announcement_failure=_optional(form, "ReasonAnnouncementFailed"),
        rollcall_conference=conference_of(form.get("FriendlyName", "")),
    )


def parse_report(form: Mapping[str, str]) -> Report:
    """Either kind: a conference event when it names a conference, else call progress."""
    if form.get("ConferenceSid") and form.get("StatusCallbackEvent"):
        return parse_conference_report(form)
    return parse_call_report(form)


def idempotency_token(headers: Mapping[str, str]) -> str | None:
    """The carrier's I-Twilio-Idempotency-Token (the same on every retry of one event)."""
    value = headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not value or len(value) > 256 or not value.isprintable():
        return None
    return value
