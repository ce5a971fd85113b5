"""The `rollcall participants` flags as the client's keyword arguments.

Rule 1: only the flags given become arguments; a flag left out leaves the
        field unset, so the service keeps what the participant has.
Rule 2: create's --param NAME=VALUE sets any other Create field by its proto or
        Twilio name; a field given twice is a usage error, repeated fields
        accumulate.
Rule 3: --attribute KEY=VALUE is repeatable; the last value of a key wins; a
        flag without `=` or without a key is a usage error before any call.
"""

from __future__ import annotations

import argparse
from typing import cast

from clients.cli_connection import UsageError
from clients.fields import UpdateFields, field_by_name, parse_text
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["attribute_pairs", "create_arguments", "update_arguments"]

# Create flags that are request fields (the rest of the fields come by --param).
_CREATE_FLAGS = (
    "from_endpoint",
    "to_endpoint",
    "request_id",
    "label",
    "muted",
    "timeout",
    "status_callback",
    "status_callback_event",
)
# Attributes come from repeated --attribute KEY=VALUE flags (attribute_pairs).
_UPDATE_FLAGS = tuple(name for name in UpdateFields.__annotations__ if name != "attributes")


def attribute_pairs(items: list[str] | None) -> dict[str, str]:
    """--attribute KEY=VALUE flags as a mapping; the last value of a key wins."""
    pairs: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--attribute {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


def create_arguments(args: argparse.Namespace) -> dict[str, object]:
    """Keyword arguments for create_participant: the flags, then each --param
    (a field given twice is a usage error; repeated fields accumulate)."""
    values: dict[str, object] = {
        name: getattr(args, name) for name in _CREATE_FLAGS if getattr(args, name) is not None
    }
    if args.attributes:
        values["attributes"] = attribute_pairs(args.attributes)
    descriptor = pb.CreateParticipantRequest.DESCRIPTOR
    for item in args.param:
        name, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        try:
            field = field_by_name(descriptor, name)
            value = parse_text(field, raw)
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--param {item!r}: {exc.args[0]}") from exc
        if field.name == "parent":
            raise UsageError("--param parent: the conference is the CONFERENCE argument")
        if field.is_repeated:
            previous = values.get(field.name, [])
            assert isinstance(previous, list)
            values[field.name] = previous + cast(list[object], value)
        elif field.name in values:
            raise UsageError(f"--param {item!r}: {field.name} is already given")
        else:
            values[field.name] = value
    return values


def update_arguments(args: argparse.Namespace) -> dict[str, object]:
    """Keyword arguments for update_participant: only the flags given."""
    given = (name for name in _UPDATE_FLAGS if getattr(args, name) is not None)
    values: dict[str, object] = {name: getattr(args, name) for name in given}
    if args.attributes:
        values["attributes"] = attribute_pairs(args.attributes)
    return values
