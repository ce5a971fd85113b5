"""How the `rollcall` CLI prints participants, pages and errors.

The rule it keeps: readable output follows the proto (every Participant field,
in proto order, so a new field shows up without touching this module) and
uses Twilio's words for enums; --json output is protobuf's canonical JSON with
proto field names and enum names, defaults included, so scripts can rely on
every key being present.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from clients.enums import enum_word
from clients.errors import RollcallClientError
from clients.fields import descriptor_of
from rollcall.v1 import participant_pb2

__all__ = [
    "error_text",
    "field_text",
    "message_json",
    "participant_text",
    "participants_json",
    "participants_table",
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


def participant_text(participant: participant_pb2.Participant) -> str:
    """Aligned `key: value` lines, one per field."""
    names = [field.name for field in descriptor_of(participant).fields]
    width = max(len(name) for name in names) + 1
    return "\n".join(f"{name + ':':<{width}} {field_text(participant, name)}" for name in names)


def participants_table(participants: Sequence[participant_pb2.Participant]) -> str:
    """A table with a header row; columns separated by two spaces."""
    rows = [[heading for heading, _ in _TABLE_COLUMNS]]
    rows += [[field_text(p, name) for _, name in _TABLE_COLUMNS] for p in participants]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_TABLE_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _as_dict(message: Message) -> dict[str, object]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def message_json(message: Message) -> str:
    return json.dumps(_as_dict(message), indent=2)


def participants_json(participants: Sequence[participant_pb2.Participant]) -> str:
    """Every participant of a listing that spanned several pages."""
    return json.dumps({"participants": [_as_dict(p) for p in participants]}, indent=2)


def error_text(error: RollcallClientError) -> str:
    """`error: CODE reason (twilio N): message`, then one line per bad field."""
    lines = [f"error: {error}"]
    lines += [f"  {v.field}: {v.description}" for v in error.field_violations]
    return "\n".join(lines)
