"""Participants and list pages as Twilio's 2010-04-01 JSON.

Rule 1: every participant object has the 15 keys of Twilio's
`api.v2010.account.conference.participant` schema, in the spec's order, with
null where there is no value, real JSON booleans, RFC 2822 dates in +0000 and
Twilio's status words (clients.words); `uri` is always built from the call SID.
Then Rollcall's own keys (ROLLCALL_KEYS: clocks, answered_by, speech,
attributes), which Twilio's SDKs ignore; their times are ISO 8601 UTC with
microseconds, so a live clock computes exactly (see the proto Participant);
JSON only (the XML and CSV representations keep Twilio's keys).
Rule 2: a list page has the `participants` key plus Twilio's meta keys and
nothing else (the Python SDK finds the records as "the one non-meta key").
Rule 3: every page URI is relative to the host and repeats the filters, then
PageSize, Page and PageToken.
"""

from __future__ import annotations

import datetime
import email.utils
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from google.protobuf.timestamp_pb2 import Timestamp

from clients.words import words_by_number
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

API_PREFIX = "/2010-04-01"

PARTICIPANT_KEYS = (
    "account_sid",
    "call_sid",
    "label",
    "conference_sid",
    "date_created",
    "date_updated",
    "end_conference_on_exit",
    "muted",
    "hold",
    "status",
    "start_conference_on_enter",
    "coaching",
    "call_sid_to_coach",
    "queue_time",
    "uri",
)

# Rollcall's extension keys, after Twilio's (issue 24).
_SINCE_KEYS = (
    "queue_since",
    "ring_since",
    "talk_since",
    "hold_since",
    "mute_since",
    "status_since",
    "last_spoke_at",
)
ROLLCALL_KEYS = (
    "queue_seconds",
    "ring_seconds",
    "talk_seconds",
    "hold_count",
    "hold_seconds",
    "mute_count",
    "mute_seconds",
    *_SINCE_KEYS,
    "answered_by",
    "speaking",
    "attributes",
)
JSON_KEYS = PARTICIPANT_KEYS + ROLLCALL_KEYS

PAGE_KEYS = (
    "participants",
    "first_page_uri",
    "next_page_uri",
    "previous_page_uri",
    "uri",
    "page",
    "page_size",
    "start",
    "end",
)

# Twilio's participant_enum_status words (clients.words): queued, connecting...
STATUS_WORDS = words_by_number(participant_pb2.ParticipantStatus.DESCRIPTOR)


def rfc2822(timestamp: Timestamp) -> str:
    """`Fri, 18 Feb 2011 21:07:19 +0000`: English names, always +0000."""
    moment = timestamp.ToDatetime(tzinfo=datetime.UTC)
    return email.utils.format_datetime(moment)


def _segment(value: str) -> str:
    return quote(value, safe="")


def collection_path(account_sid: str, conference: str) -> str:
    return (
        f"{API_PREFIX}/Accounts/{_segment(account_sid)}"
        f"/Conferences/{_segment(conference)}/Participants.json"
    )


def participant_uri(participant: participant_pb2.Participant) -> str:
    return (
        f"{API_PREFIX}/Accounts/{_segment(participant.account_sid)}"
        f"/Conferences/{_segment(participant.conference_sid)}"
        f"/Participants/{_segment(participant.call_sid)}.json"
    )


def _text(value: str) -> str | None:
    return value or None


def participant_json(participant: participant_pb2.Participant) -> dict[str, Any]:
    p = participant
    try:
        status = STATUS_WORDS[p.status]
    except KeyError:
        # The schema's status is a non-null enum: a participant without one is
        # an upstream contract violation, reported as a fault, not papered over.
        raise ValueError(f"participant {p.call_sid!r} has no status") from None
    return {
        "account_sid": _text(p.account_sid),
        "call_sid": _text(p.call_sid),
        "label": p.label if p.HasField("label") and p.label else None,
        "conference_sid": _text(p.conference_sid),
        "date_created": rfc2822(p.date_created) if p.HasField("date_created") else None,
        "date_updated": rfc2822(p.date_updated) if p.HasField("date_updated") else None,
        "end_conference_on_exit": p.end_conference_on_exit,
        "muted": p.muted,
        "hold": p.hold,
        "status": status,
        "start_conference_on_enter": p.start_conference_on_enter,
        "coaching": p.coaching,
        "call_sid_to_coach": (
            p.call_sid_to_coach if p.HasField("call_sid_to_coach") and p.call_sid_to_coach else None
        ),
        "queue_time": str(p.queue_time_ms) if p.HasField("queue_time_ms") else None,
        "uri": participant_uri(p) if p.call_sid else None,
        **rollcall_json(p),
    }


def participant_json_bytes(participant: participant_pb2.Participant) -> bytes:
    """The participant's JSON as a response body (UTF-8; what aiohttp's
    json_response would send for participant_json)."""
    return json.dumps(participant_json(participant)).encode()


def twilio_only(record: dict[str, Any]) -> dict[str, Any]:
    """A participant's JSON without Rollcall's keys: the XML and CSV
    representations keep Twilio's shape (an attribute key need not be a
    valid element or column name)."""
    return {key: record[key] for key in PARTICIPANT_KEYS}


def iso8601(timestamp: Timestamp) -> str:
    """`2026-12-07T11:00:00.250000Z`: UTC, always with microseconds."""
    moment = timestamp.ToDatetime(tzinfo=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rollcall_json(p: participant_pb2.Participant) -> dict[str, Any]:
    """Rollcall's extension keys (ROLLCALL_KEYS), in order."""
    data: dict[str, Any] = {
        "queue_seconds": p.queue_seconds,
        "ring_seconds": p.ring_seconds,
        "talk_seconds": p.talk_seconds,
        "hold_count": p.hold_count,
        "hold_seconds": p.hold_seconds,
        "mute_count": p.mute_count,
        "mute_seconds": p.mute_seconds,
    }
    for key in _SINCE_KEYS:
        data[key] = iso8601(getattr(p, key)) if p.HasField(key) else None  # type: ignore[arg-type]
    data["answered_by"] = p.answered_by if p.HasField("answered_by") else None
    data["speaking"] = p.speaking
    data["attributes"] = dict(sorted(p.attributes.items()))
    return data


def page_uri(
    path: str,
    filters: Sequence[tuple[str, str]],
    page_size: int,
    page: int,
    page_token: str = "",
) -> str:
    """Filters first, then PageSize, Page and (when there is one) PageToken."""
    query = [*filters, ("PageSize", str(page_size)), ("Page", str(page))]
    if page_token:
        query.append(("PageToken", page_token))
    return f"{path}?{urlencode(query)}"


def page_json(
    response: pb.ListParticipantsResponse,
    *,
    path: str,
    filters: Sequence[tuple[str, str]],
    page_size: int,
    page: int,
    page_token: str,
) -> dict[str, Any]:
    """Twilio's page envelope around one ListParticipants response."""
    records = [participant_json(p) for p in response.participants]
    start = page * page_size if records else 0
    end = start + len(records) - 1 if records else 0
    next_uri = (
        page_uri(path, filters, page_size, page + 1, response.next_page_token)
        if response.next_page_token
        else None
    )
    previous_uri = (
        page_uri(path, filters, page_size, max(page - 1, 0), response.previous_page_token)
        if response.previous_page_token
        else None
    )
    return {
        "participants": records,
        "first_page_uri": page_uri(path, filters, page_size, 0),
        "next_page_uri": next_uri,
        "previous_page_uri": previous_uri,
        "uri": page_uri(path, filters, page_size, page, page_token),
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": end,
    }
