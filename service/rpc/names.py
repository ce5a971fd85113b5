"""Resource names of the gRPC API, parsed and formatted here only.

Rule 1: a name is `accounts/{AccountSid}`,
        `accounts/{AccountSid}/conferences/{ConferenceSid or FriendlyName}`
        (at most 256 characters) or that followed by
        `/participants/{CallSid or Label}` (at most 128).
Rule 2: anything else is refused with INVALID_ARGUMENT naming the field, before
        any lookup.
"""

from __future__ import annotations

import re

from service.core import errors
from service.core.commands import ConferenceRef

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")
# A participant is named by its CallSid (34) or its label (at most 128).
MAX_KEY = 128
_CONFERENCE_FORM = "must be accounts/{AccountSid}/conferences/{ConferenceSid or FriendlyName}"


def account_name(account_sid: str) -> str:
    return f"accounts/{account_sid}"


def conference_name(account_sid: str, conference: str) -> str:
    return f"accounts/{account_sid}/conferences/{conference}"


def participant_name(account_sid: str, conference: str, participant: str) -> str:
    return f"{conference_name(account_sid, conference)}/participants/{participant}"


def parse_account(parent: str, field: str = "parent") -> str:
    """The account SID of `accounts/{AccountSid}`."""
    prefix, _, account = parent.partition("/")
    if prefix != "accounts" or not ACCOUNT_SID.match(account):
        raise errors.invalid_field(field, "must be accounts/{AccountSid}")
    return account


def parse_conference(name: str, field: str) -> ConferenceRef:
    """A conference name given in `field` (a Conference's `name`)."""
    try:
        return parse_parent(name)
    except errors.RollcallError:
        raise errors.invalid_field(field, _CONFERENCE_FORM) from None


def parse_parent(parent: str) -> ConferenceRef:
    parts = parent.split("/", 3)
    if len(parts) != 4 or parts[0] != "accounts" or parts[2] != "conferences":
        raise errors.invalid_field("parent", _CONFERENCE_FORM)
    account, key = parts[1], parts[3]
    if not ACCOUNT_SID.match(account):
        raise errors.invalid_field("parent", "account SID must be AC followed by 32 hex digits")
    if not key or "/" in key or len(key) > 256:
        raise errors.invalid_field("parent", "conference must be a SID or a friendly name")
    if key.startswith("CF") and len(key) == 34 and not CONFERENCE_SID.match(key):
        raise errors.invalid_field("parent", "malformed conference SID")
    return ConferenceRef(account, key)


# Names parsed lately (a client polling one participant names it again and
# again): name -> its parse, which is immutable. Only good names are kept.
_PARSED_LIMIT = 4096
_parsed: dict[str, tuple[ConferenceRef, str]] = {}


def parse_name(name: str) -> tuple[ConferenceRef, str]:
    found = _parsed.get(name)
    if found is None:
        found = _parse_name(name)
        if len(_parsed) >= _PARSED_LIMIT:
            del _parsed[next(iter(_parsed))]
        _parsed[name] = found
    return found


def _parse_name(name: str) -> tuple[ConferenceRef, str]:
    parts = name.split("/")
    if len(parts) != 6 or parts[4] != "participants" or not parts[5]:
        raise errors.invalid_field(
            "name",
            "must be accounts/{AccountSid}/conferences/{ConferenceSid}/participants/"
            "{CallSid or Label}",
        )
    if len(parts[5]) > MAX_KEY:
        raise errors.invalid_field(
            "name", f"participant must be a CallSid or a label of at most {MAX_KEY} characters"
        )
    try:
        ref = parse_parent("/".join(parts[:4]))
    except errors.RollcallError:
        raise errors.invalid_field("name", "malformed conference part") from None
    return ref, parts[5]
