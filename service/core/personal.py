"""Personal data: what it is, the keyed hash that finds a number, and redaction in place.

Rule 1: a participant's personal fields are its From and To (phone numbers,
        SIP or client addresses), its label, and in its Create parameters the
        caller id and display name, the call reason, SIP credentials and any
        `attributes`; a callback's are its From/To/Caller/Called parameters
        (and their city, state, zip and country), CallerName, ForwardedFrom
        and Label. Nothing else Rollcall keeps names a person.
Rule 2: a number is found by a keyed hash (HMAC-SHA256 under a server key) of
        its normalized form, never by the number: a phone number by `+` and
        its digits (punctuation dropped, a leading 00 read as +), a sip: or
        client: address (or anything with @) lower-cased.
Rule 3: redaction blanks those fields in place (labels become unset, the
        rest empty) and keeps every SID, revision, time and status; it is
        idempotent, and pure: the stores apply the same functions to every
        copy (rows, events, dead letters).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import re
from typing import Any

from service.core.records import Participant

PERSONAL_SETTINGS = (
    "caller_id",
    "caller_display_name",
    "call_reason",
    "sip_auth_username",
    "sip_auth_password",
    "attributes",
)
_CALLBACK_KEYS = frozenset({"CallerName", "ForwardedFrom", "Label"})
_CALLBACK_PREFIXES = ("From", "To", "Caller", "Called")
_NOT_DIGIT = re.compile(r"[^0-9]")
# What a redacted Create request fingerprint reads as (a retry with its
# request_id is then refused as a different request: the participant ended).
REDACTED_FINGERPRINT = "redacted"


def normalize(number: str) -> str:
    """A number as it is hashed (Rule 2); '' when there is nothing to hash."""
    text = number.strip()
    lowered = text.lower()
    if lowered.startswith(("sip:", "client:")) or "@" in lowered:
        return lowered
    digits = _NOT_DIGIT.sub("", text)
    if not digits:
        return lowered
    if not text.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    return "+" + digits


class NumberHasher:
    """The keyed hash of numbers (Rule 2)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the number hash key must be at least 16 bytes")
        self._key = key

    def digest(self, number: str) -> str:
        normal = normalize(number)
        if not normal:
            return ""
        return hmac.new(self._key, normal.encode(), hashlib.sha256).hexdigest()

    def digests(self, p: Participant) -> list[str]:
        """The digests a participant is found by (its From and To), once each."""
        found = [self.digest(p.from_endpoint), self.digest(p.to_endpoint)]
        return sorted({d for d in found if d})


@dataclasses.dataclass(frozen=True)
class NumberHolder:
    """A participant holding a number, and how many stored copies hold it."""

    conference_sid: str
    call_sid: str
    live: bool
    events: int = 0
    dead_letters: int = 0


def redact(p: Participant) -> Participant:
    """The participant with its personal fields blanked (Rule 3)."""
    redacted = copy.copy(p)
    redacted.from_endpoint = ""
    redacted.to_endpoint = ""
    redacted.label = None
    redacted.settings = _redacted_settings(p.settings)
    if hasattr(redacted, "attributes"):  # a participant's own attributes, where it has them
        object.__setattr__(redacted, "attributes", _empty_like(redacted.attributes))
    return redacted


def redact_data(data: dict[str, Any]) -> dict[str, Any]:
    """A participant's stored JSON (a row, or an event's `participant`) redacted."""
    out = dict(data)
    if "from_endpoint" in out:
        out["from_endpoint"] = ""
    if "to_endpoint" in out:
        out["to_endpoint"] = ""
    if "label" in out:
        out["label"] = None
    if "attributes" in out:
        out["attributes"] = _empty_like(out["attributes"])
    if isinstance(out.get("settings"), dict):
        out["settings"] = _redacted_settings(out["settings"])
    return out


def redact_event_data(data: dict[str, Any]) -> dict[str, Any]:
    """An event's stored JSON with its participant's personal fields redacted."""
    if not isinstance(data.get("participant"), dict):
        return data
    return {**data, "participant": redact_data(data["participant"])}


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """A callback's form parameters with the personal ones blanked."""
    return {
        key: ("" if key in _CALLBACK_KEYS or key.startswith(_CALLBACK_PREFIXES) else value)
        for key, value in params.items()
    }


def is_redacted(p: Participant) -> bool:
    return (
        not p.from_endpoint
        and not p.to_endpoint
        and p.label is None
        and not getattr(p, "attributes", None)
        and not any(p.settings.get(key) for key in PERSONAL_SETTINGS)
    )


def _empty_like(value: Any) -> Any:
    """An empty value of the same kind (attributes may be a map, a list or text)."""
    if isinstance(value, dict | list | str):
        return type(value)()
    return None


def _redacted_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (_empty_like(value) if key in PERSONAL_SETTINGS else value)
        for key, value in settings.items()
    }
