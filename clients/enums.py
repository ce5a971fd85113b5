"""Enum values <-> Twilio's wire words, for every enum of rollcall.v1.

The rule it keeps: a caller may name an enum value the way Twilio's API does
("ringing", "onEnter", "in-progress", "GET", "DetectMessageEnd"), by its proto
name ("CALL_EVENT_RINGING") or by its number, and always gets the same proto
number back; printing a value gives Twilio's own spelling of the word.
Matching ignores case and punctuation, so "on-enter", "ON_ENTER" and "onEnter"
are one word.
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import EnumDescriptor

__all__ = ["enum_number", "enum_word", "enum_words"]

# How Twilio spells each enum's words; everything else is lower-case-hyphenated.
_STYLES = {
    "rollcall.v1.HttpMethod": "upper",
    "rollcall.v1.Beep": "camel",
    "rollcall.v1.MachineDetection": "pascal",
    "rollcall.v1.ParticipantLeaveReason": "snake",
}


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


def enum_word(enum: EnumDescriptor, number: int) -> str:
    """Twilio's word for a value; "" for the unspecified value, the number if unknown."""
    if number == 0:
        return ""
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    return _spell(_STYLES.get(enum.full_name, "hyphen"), _suffix(enum, value.name))


def enum_words(enum: EnumDescriptor) -> list[str]:
    """Every word of an enum except the unspecified value, in proto order."""
    return [enum_word(enum, value.number) for value in enum.values if value.number != 0]


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
        for candidate in enum.values:
            if key and key in (_key(candidate.name), _key(_suffix(enum, candidate.name))):
                return int(candidate.number)
    else:
        raise TypeError(f"{enum.name} value must be a str or int, not {type(value).__name__}")
    raise ValueError(
        f"{value!r} is not a {enum.name}: expected one of {', '.join(enum_words(enum))}"
    )
