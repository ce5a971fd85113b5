"""The Create parameters kept as sent (the `settings` bags of Participant and
Conference), in Twilio's words.

What it owns: which of those parameters take one of Twilio's enum words, and
how Twilio spells each enum's words (`record-from-start`, `onEnter`,
`DetectMessageEnd`, `GET`, `us1`).

The rule it keeps: a bag holds Twilio's words, never proto enum names, so
whatever reads it (a carrier adapter, a webhook) uses the value as it is.
`twilio_words` turns proto enum names into Twilio's words (a Create as the gRPC
face decoded it, or a row stored before this rule) and leaves everything else,
Twilio's words included, as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Parameter -> (its proto enum's value prefix, how Twilio spells the words).
_HYPHEN, _UPPER, _CAMEL, _PASCAL = "hyphen", "upper", "camel", "pascal"
ENUM_PARAMETERS: dict[str, tuple[str, str]] = {
    "status_callback_method": ("HTTP_METHOD_", _UPPER),
    "status_callback_event": ("CALL_EVENT_", _HYPHEN),
    "beep": ("BEEP_", _CAMEL),
    "wait_method": ("HTTP_METHOD_", _UPPER),
    "conference_record": ("CONFERENCE_RECORD_", _HYPHEN),
    "conference_trim": ("TRIM_", _HYPHEN),
    "conference_status_callback_method": ("HTTP_METHOD_", _UPPER),
    "conference_status_callback_event": ("CONFERENCE_CALLBACK_EVENT_", _HYPHEN),
    "recording_channels": ("RECORDING_CHANNELS_", _HYPHEN),
    "recording_status_callback_method": ("HTTP_METHOD_", _UPPER),
    "region": ("REGION_", _HYPHEN),
    "conference_recording_status_callback_method": ("HTTP_METHOD_", _UPPER),
    "recording_status_callback_event": ("RECORDING_EVENT_", _HYPHEN),
    "conference_recording_status_callback_event": ("RECORDING_EVENT_", _HYPHEN),
    "jitter_buffer_size": ("JITTER_BUFFER_SIZE_", _HYPHEN),
    "recording_track": ("RECORDING_TRACK_", _HYPHEN),
    "machine_detection": ("MACHINE_DETECTION_", _PASCAL),
    "amd_status_callback_method": ("HTTP_METHOD_", _UPPER),
    "trim": ("TRIM_", _HYPHEN),
}


def _word(value: Any, prefix: str, style: str) -> Any:
    if not isinstance(value, str) or not value.startswith(prefix):
        return value  # already Twilio's word (or not a word at all)
    parts = value[len(prefix) :].lower().split("_")
    if style == _UPPER:
        return "_".join(parts).upper()
    if style == _CAMEL:
        return parts[0] + "".join(part.capitalize() for part in parts[1:])
    if style == _PASCAL:
        return "".join(part.capitalize() for part in parts)
    return "-".join(parts)


def twilio_words(settings: dict[str, Any]) -> dict[str, Any]:
    """The bag with every enum-valued parameter in Twilio's words (a new dict;
    the same one when there was nothing to change)."""
    changed: dict[str, Any] | None = None
    for name, value in settings.items():
        spelling = ENUM_PARAMETERS.get(name)
        if spelling is None:
            continue
        prefix, style = spelling
        if isinstance(value, list):
            word: Any = [_word(item, prefix, style) for item in value]
        else:
            word = _word(value, prefix, style)
        if word != value:
            if changed is None:
                changed = dict(settings)
            changed[name] = word
    return settings if changed is None else changed


def _wire_name(parameter: str) -> str:
    """A Create parameter's Twilio form name (`conference_record` -> ConferenceRecord)."""
    return "".join(part.capitalize() for part in parameter.split("_"))


def _wire_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def wire_form(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A bag (already in Twilio's words) as Twilio form fields: Twilio's names,
    booleans as `true`/`false`, a list as one field per value (the way
    Twilio's SDKs send them)."""
    form: list[tuple[str, str]] = []
    for name, value in settings.items():
        values = value if isinstance(value, list) else [value]
        form.extend((_wire_name(name), _wire_value(v)) for v in values if v is not None)
    return form
