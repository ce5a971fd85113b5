"""Conferences and conference list pages as Twilio's 2010-04-01 JSON.

Rule 1: every conference object has the keys of Twilio's
`api.v2010.account.conference` schema, in the spec's order, with null where
there is no value, Twilio's status and reason words (clients.words), RFC 2822
dates, and URIs relative to the host; it validates against that schema.
Rule 2: the spec's `reason_conference_ended` is a non-nullable enum (although
its text and examples say null while the conference runs), so until the
conference ends the key is left out, which the schema allows and every SDK
reads as null.
Rule 3: a list page is the `conferences` key plus the same meta keys as a
participant page.
"""

from __future__ import annotations

from typing import Any

from clients.words import words_by_number
from rollcall.v1 import participant_pb2 as ppb
from service.gateway.render import API_PREFIX, _segment, rfc2822

API_VERSION = "2010-04-01"

CONFERENCE_KEYS = (
    "account_sid",
    "date_created",
    "date_updated",
    "api_version",
    "friendly_name",
    "region",
    "sid",
    "status",
    "uri",
    "subresource_uris",
    "reason_conference_ended",
    "call_sid_ending_conference",
)

# Twilio's conference status and end reason words (clients.words).
STATUS_WORDS = words_by_number(ppb.ConferenceStatus.DESCRIPTOR)
STATUS_VALUES = {word: number for number, word in STATUS_WORDS.items()}
REASON_WORDS = words_by_number(ppb.ConferenceEndReason.DESCRIPTOR)


def collection_path(account_sid: str) -> str:
    """The list's path without a suffix."""
    return f"{API_PREFIX}/Accounts/{_segment(account_sid)}/Conferences"


def conference_json(c: ppb.Conference) -> dict[str, Any]:
    try:
        status = STATUS_WORDS[c.status]
    except KeyError:
        raise ValueError(f"conference {c.conference_sid!r} has no status") from None
    base = f"{collection_path(c.account_sid)}/{_segment(c.conference_sid)}"
    body: dict[str, Any] = {
        "account_sid": c.account_sid or None,
        "date_created": rfc2822(c.date_created) if c.HasField("date_created") else None,
        "date_updated": rfc2822(c.date_updated) if c.HasField("date_updated") else None,
        "api_version": API_VERSION,
        "friendly_name": c.friendly_name or None,
        "region": c.region or None,
        "sid": c.conference_sid or None,
        "status": status,
        "uri": base + ".json",
        # Only what this service serves (Twilio also lists Recordings).
        "subresource_uris": {"participants": base + "/Participants.json"},
        "reason_conference_ended": REASON_WORDS.get(c.end_reason),
        "call_sid_ending_conference": (
            c.call_sid_ending_conference
            if c.HasField("call_sid_ending_conference") and c.call_sid_ending_conference
            else None
        ),
    }
    if body["reason_conference_ended"] is None:
        del body["reason_conference_ended"]
    return body
