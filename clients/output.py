"""How the `rollcall` CLI prints participants, conferences, pages and errors.

Rule 1: readable output follows the proto (every Participant field, in proto
order, so a new field shows up without touching this module) and uses
Twilio's words for enums (clients.words).
Rule 2: --json output is protobuf's canonical JSON with proto field names and
enum names, defaults included, so scripts can rely on every key being present.
Rule 3: a watch prints one line per item, as it arrives: readable, or one
JSON object with a "kind" key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from clients.errors import RollcallClientError
from clients.fields import descriptor_of
from clients.watch_items import (
    EventItem,
    InitialParticipant,
    InitialStateComplete,
    ProgressItem,
    Reconnected,
    WatchItem,
)
from clients.words import enum_word
from rollcall.v1 import participant_pb2

__all__ = [
    "conference_text",
    "conferences_json",
    "conferences_table",
    "field_text",
    "message_json",
    "message_text",
    "participant_text",
    "participants_json",
    "participants_table",
    "watch_json",
    "watch_text",
]

_UNSET = "-"
_TABLE_COLUMNS = (
    ("CALL SID", "call_sid"),
    ("LABEL", "label"),
    ("STATUS", "status"),
    ("MUTED", "muted"),
    ("HOLD", "hold"),
    ("COACHING", "coaching"),
    ("REVISION", "revision"),
)
_CONFERENCE_COLUMNS = (
    ("CONFERENCE SID", "conference_sid"),
    ("FRIENDLY NAME", "friendly_name"),
    ("STATUS", "status"),
    ("REVISION", "revision"),
    ("CREATED", "date_created"),
    ("END REASON", "end_reason"),
)


def field_text(message: Message, name: str) -> str:
    """One field as text: Twilio words for enums, true/false, ISO 8601 UTC times,
    "-" for unset optional fields, empty strings and unspecified enums."""
    field = descriptor_of(message).fields_by_name[name]
    if field.has_presence and not message.HasField(name):
        return _UNSET
    value = getattr(message, name)
    if isinstance(value, Timestamp):
        return value.ToJsonString()
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return enum_word(field.enum_type, value) or _UNSET
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text else _UNSET


def message_text(message: Message) -> str:
    """Aligned `key: value` lines, one per field."""
    names = [field.name for field in descriptor_of(message).fields]
    width = max(len(name) for name in names) + 1
    return "\n".join(f"{name + ':':<{width}} {field_text(message, name)}" for name in names)


def participant_text(participant: participant_pb2.Participant) -> str:
    """Aligned `key: value` lines, one per field."""
    return message_text(participant)


def conference_text(conference: participant_pb2.Conference) -> str:
    """Aligned `key: value` lines, one per field."""
    return message_text(conference)


def _table(messages: Sequence[Message], columns: Sequence[tuple[str, str]]) -> str:
    """A table with a header row; columns separated by two spaces."""
    rows = [[heading for heading, _ in columns]]
    rows += [[field_text(m, name) for _, name in columns] for m in messages]
    widths = [max(len(row[column]) for row in rows) for column in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def participants_table(participants: Sequence[participant_pb2.Participant]) -> str:
    """A table with a header row; columns separated by two spaces."""
    return _table(participants, _TABLE_COLUMNS)


def conferences_table(conferences: Sequence[participant_pb2.Conference]) -> str:
    """A table with a header row; columns separated by two spaces."""
    return _table(conferences, _CONFERENCE_COLUMNS)


def _as_dict(message: Message) -> dict[str, object]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def message_json(message: Message) -> str:
    return json.dumps(_as_dict(message), indent=2)


def participants_json(participants: Sequence[participant_pb2.Participant]) -> str:
    """Every participant of a listing that spanned several pages."""
    return json.dumps({"participants": [_as_dict(p) for p in participants]}, indent=2)


def conferences_json(conferences: Sequence[participant_pb2.Conference]) -> str:
    """Every conference of a listing that spanned several pages."""
    return json.dumps({"conferences": [_as_dict(c) for c in conferences]}, indent=2)


def _participant_summary(participant: participant_pb2.Participant) -> str:
    fields = " ".join(
        f"{name}={field_text(participant, name)}" for name in ("label", "muted", "hold", "status")
    )
    return f"{participant.call_sid} {fields}"


def _conference_summary(conference: participant_pb2.Conference) -> str:
    text = f"{conference.conference_sid} status={field_text(conference, 'status')}"
    if conference.end_reason:
        text += f" end_reason={field_text(conference, 'end_reason')}"
    return text


def _error_words(error: RollcallClientError) -> str:
    return error.code if error.reason == error.code else f"{error.code} {error.reason}"


def watch_text(item: WatchItem) -> str:
    """One readable line: `r12 TIME participant-mute CA... label=agent muted=true ...`,
    `-- snapshot complete at r10`, `-- progress r15`, `-- reconnected: ...`."""
    match item:
        case InitialParticipant(participant=participant):
            return f"r{participant.revision} snapshot {_participant_summary(participant)}"
        case InitialStateComplete(revision=revision):
            return f"-- snapshot complete at r{revision}"
        case EventItem(event=event):
            subject = (
                _participant_summary(event.participant)
                if event.HasField("participant") and event.participant.call_sid
                else _conference_summary(event.conference)
            )
            return f"r{event.revision} {event.time.ToJsonString()} {item.word} {subject}"
        case ProgressItem(revision=revision):
            return f"-- progress r{revision}"
        case Reconnected(kind="resumed", revision=revision, error=error):
            return f"-- reconnected: resumed after r{revision} ({_error_words(error)})"
        case Reconnected(error=error):
            return f"-- reconnected: state dropped, new snapshot follows ({_error_words(error)})"
    raise TypeError(f"not a watch item: {item!r}")


def watch_json(item: WatchItem) -> str:
    """One JSON object on one line. Stream items: {"kind": "event", "event": {...}}
    (the response's own JSON, keyed by its oneof); a reconnect: {"kind": "resumed"
    or "resnapshot", "revision": "15" or null, "attempts": 1, "error": {...}}."""
    if isinstance(item, Reconnected):
        document: dict[str, object] = {
            "kind": item.kind,
            "revision": None if item.revision is None else str(item.revision),
            "attempts": item.attempts,
            "error": {
                "code": item.error.code,
                "reason": item.error.reason,
                "message": item.error.message,
            },
        }
    else:
        document = {"kind": item.raw.WhichOneof("item"), **_as_dict(item.raw)}
    return json.dumps(document, separators=(",", ":"))
