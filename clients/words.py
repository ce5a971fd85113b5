"""Twilio's words for every enum of rollcall.v1, and the enum numbers they name.

Rule 1: this is the one place Twilio's spellings of enum values live, derived
from the proto enums (one spelling style per enum, and the event types whose
Twilio word is not their proto name); the client, the gRPC face, the REST
gateway, the webhooks and the Twilio carrier all read them here.
Rule 2: it is here because both sides can import clients/ and rollcall/v1 is generated only.
Rule 3: a caller may name a value by Twilio's word ("ringing", "onEnter",
"in-progress", "GET", "DetectMessageEnd"), its proto name
("CALL_EVENT_RINGING") or its number, and always gets the same number back;
matching ignores case and punctuation ("on-enter", "ON_ENTER" and "onEnter"
are one word).
Rule 4: printing a value gives Twilio's word; "" for the unspecified value.
Rule 5: a Create's parameters kept as sent hold Twilio's words, never proto
names (twilio_settings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor

__all__ = [
    "enum_number",
    "enum_word",
    "enum_words",
    "proto_word",
    "twilio_settings",
    "words_by_number",
]

# How Twilio spells each enum's words; everything else is lower-case-hyphenated.
_STYLES = {
    "rollcall.v1.HttpMethod": "upper",
    "rollcall.v1.Beep": "camel",
    "rollcall.v1.MachineDetection": "pascal",
    "rollcall.v1.ParticipantLeaveReason": "snake",
}
# Values whose Twilio word is not their proto name spelled in the enum's style:
# Rollcall's event types take Twilio's StatusCallbackEvent words where Twilio
# has one (call-status-changed is Rollcall's own).
_EXCEPTIONS: dict[str, dict[str, str]] = {
    "rollcall.v1.ConferenceEventType": {
        "PARTICIPANT_JOINED": "participant-join",
        "PARTICIPANT_LEFT": "participant-leave",
        "PARTICIPANT_MUTED": "participant-mute",
        "PARTICIPANT_UNMUTED": "participant-unmute",
        "PARTICIPANT_HELD": "participant-hold",
        "PARTICIPANT_UNHELD": "participant-unhold",
        "PARTICIPANT_MODIFIED": "participant-modify",
        "ANNOUNCEMENT_ENDED": "announcement-end",
        "ANNOUNCEMENT_FAILED": "announcement-fail",
        "CONFERENCE_STARTED": "conference-start",
        "CONFERENCE_ENDED": "conference-end",
        "PARTICIPANT_ROLE_CHANGED": "participant-role",
        "PARTICIPANT_MOVED_OUT": "participant-moved-out",
        "PARTICIPANT_MOVED_IN": "participant-moved-in",
    },
}
_WORDS: dict[str, dict[int, str]] = {}


def _prefix(enum: EnumDescriptor) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _suffix(enum: EnumDescriptor, proto_name: str) -> str:
    prefix = _prefix(enum)
    return proto_name[len(prefix) :] if proto_name.startswith(prefix) else proto_name


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _spell(style: str, suffix: str) -> str:
    parts = suffix.lower().split("_")
    if style == "upper":
        return suffix
    if style == "snake":
        return "_".join(parts)
    if style == "camel":
        return parts[0] + "".join(part.capitalize() for part in parts[1:])
    if style == "pascal":
        return "".join(part.capitalize() for part in parts)
    return "-".join(parts)


def proto_word(enum: EnumDescriptor, proto_name: str) -> str:
    """Twilio's word for a value given by its proto name (`BEEP_ON_ENTER` -> onEnter)."""
    suffix = _suffix(enum, proto_name)
    exception = _EXCEPTIONS.get(enum.full_name, {}).get(suffix)
    return exception or _spell(_STYLES.get(enum.full_name, "hyphen"), suffix)


def words_by_number(enum: EnumDescriptor) -> dict[int, str]:
    """Number -> Twilio's word for every value but the unspecified one, in proto order."""
    words = _WORDS.get(enum.full_name)
    if words is None:
        words = _WORDS[enum.full_name] = {
            value.number: proto_word(enum, value.name) for value in enum.values if value.number
        }
    return words


def enum_word(enum: EnumDescriptor, number: int) -> str:
    """Twilio's word for a value; "" for the unspecified value, the number if unknown."""
    if number == 0:
        return ""
    return words_by_number(enum).get(number, str(number))


def enum_words(enum: EnumDescriptor) -> list[str]:
    """Every word of an enum except the unspecified value, in proto order."""
    return list(words_by_number(enum).values())


def enum_number(enum: EnumDescriptor, value: int | str) -> int:
    """The proto number for a number, a Twilio word or a proto name.

    Booleans stand for the words "true" and "false" (Beep, ConferenceRecord).
    Raises ValueError naming the accepted words when nothing matches.
    """
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, int):
        if value in enum.values_by_number:
            return value
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit() and int(text) in enum.values_by_number:
            return int(text)
        key = _key(text)
        words = words_by_number(enum)
        for candidate in enum.values:
            names = (candidate.name, _suffix(enum, candidate.name), words.get(candidate.number))
            if key and key in (_key(name) for name in names if name):
                return int(candidate.number)
    else:
        raise TypeError(f"{enum.name} value must be a str or int, not {type(value).__name__}")
    raise ValueError(
        f"{value!r} is not a {enum.name}: expected one of {', '.join(enum_words(enum))}"
    )


def _settings_word(enum: EnumDescriptor, value: Any) -> Any:
    if isinstance(value, str) and value in enum.values_by_name:
        return proto_word(enum, value)
    return value  # already Twilio's word (or not a word at all)


def twilio_settings(settings: Mapping[str, Any], message: Descriptor) -> dict[str, Any]:
    """A bag of `message`'s fields (proto field names -> values, as
    json_format gives them) with every enum value in Twilio's words: a new
    dict, or the same one when there was nothing to change."""
    changed: dict[str, Any] | None = None
    for name, value in settings.items():
        field = message.fields_by_name.get(name)
        enum = None if field is None else field.enum_type
        if enum is None:
            continue
        if isinstance(value, list):
            word: Any = [_settings_word(enum, item) for item in value]
        else:
            word = _settings_word(enum, value)
        if word != value:
            if changed is None:
                changed = dict(settings)
            changed[name] = word
    if changed is not None:
        return changed
    return settings if isinstance(settings, dict) else dict(settings)
