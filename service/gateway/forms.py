"""Twilio's form fields and query parameters -> request messages, by table.

Rule 1: each wire field is one row of a table (Twilio's PascalCase name, the
proto field it fills, and its few quirks); how a value is parsed follows from
the proto field's type, never from per-field code.
Rule 2: values are read the way the Twilio SDKs send them: booleans and enum
words (Twilio's, from clients.words) case-insensitively, lists as repeated
keys or space-separated words (the union of both), integers as decimal text,
and an empty string as "not given" except where a row keeps it (keep_empty).
Rule 3: unknown fields are ignored; every unparseable field is named in one
INVALID_ARGUMENT (HTTP 400); range and cross-field rules belong to the
service, so REST and gRPC agree on them.
Rule 4: the tables live with their resource's forms
(service.gateway.participant_forms, service.gateway.rollcall_forms).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import cast

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from multidict import MultiMapping

from clients.words import enum_words, words_by_number
from rollcall.v1 import enums_pb2
from service.core.errors import FieldViolation, invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _snake(camel: str) -> str:
    """`StatusCallbackEvent` -> `status_callback_event`; `onEnter` -> `on_enter`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).replace("-", "_").lower()


@dataclasses.dataclass(frozen=True)
class FormField:
    """One wire field: Twilio's name, the proto field (derived when empty), quirks."""

    wire: str
    proto: str = ""
    # An empty value is meaningful ("play nothing") and is sent as set-but-empty.
    keep_empty: bool = False
    # Twilio code for an unparseable value; 0 means the generic 400.
    twilio_code: int = 0
    # A boolean Twilio documents as "anything other than true or false is
    # interpreted as false" (Update's Muted): never refused.
    false_unless_true: bool = False

    def __post_init__(self) -> None:
        if not self.proto:
            object.__setattr__(self, "proto", _snake(self.wire))


# Twilio's words for each enum of enums.proto, from clients.words; a word is
# matched case-insensitively (`onenter` is `onEnter`).
ENUM_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(enum_words(enum)) for name, enum in enums_pb2.DESCRIPTOR.enum_types_by_name.items()
}


def _enum_lookup() -> dict[str, dict[str, int]]:
    return {
        name: {word.lower(): number for number, word in words_by_number(enum).items()}
        for name, enum in enums_pb2.DESCRIPTOR.enum_types_by_name.items()
    }


_ENUMS = _enum_lookup()
_BOOLEANS = {"true": True, "false": False}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}


class BadValue(ValueError):
    """A value that cannot be read as its field's type; the text says why."""


@dataclasses.dataclass(frozen=True)
class _Bound:
    field: FormField
    descriptor: FieldDescriptor


def _enum_name(descriptor: FieldDescriptor) -> str:
    enum_type = descriptor.enum_type
    assert enum_type is not None, descriptor.full_name
    return enum_type.name


def bind(message: type[Message], fields: Sequence[FormField]) -> tuple[_Bound, ...]:
    """Resolve a table against a message at import time, so a typo fails loudly."""
    bound = []
    for field in fields:
        descriptor = cast(FieldDescriptor, message.DESCRIPTOR.fields_by_name[field.proto])
        if descriptor.type == FieldDescriptor.TYPE_ENUM and _enum_name(descriptor) not in _ENUMS:
            raise LookupError(f"no Twilio words for {_enum_name(descriptor)}")
        bound.append(_Bound(field, descriptor))
    return tuple(bound)


def _enum_word(descriptor: FieldDescriptor, word: str) -> int:
    enum_name = _enum_name(descriptor)
    try:
        return _ENUMS[enum_name][word.lower()]
    except KeyError:
        choices = ", ".join(ENUM_WORDS[enum_name])
        raise BadValue(f"{word!r} is not one of: {choices}") from None


def parse_boolean(value: str) -> bool:
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise BadValue(f"must be true or false, got {value!r}") from None


def _parse_integer(value: str, low: int = -(2**63), high: int = 2**63 - 1) -> int:
    if not _INTEGER.fullmatch(value):
        raise BadValue(f"must be an integer, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise BadValue(f"must be between {low} and {high}, got {value}")
    return number


def _scalar(descriptor: FieldDescriptor, value: str) -> object:
    kind = descriptor.type
    if kind == FieldDescriptor.TYPE_STRING:
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        return parse_boolean(value)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum_word(descriptor, value)
    if kind in _INT_RANGES:
        return _parse_integer(value, *_INT_RANGES[kind])
    raise TypeError(f"no wire parser for {descriptor.full_name}")  # a table bug


def _assign(message: Message, bound: _Bound, values: list[str]) -> None:
    descriptor = bound.descriptor
    if descriptor.is_repeated:
        # Repeated keys and space-separated words are both lists; union them.
        words = dict.fromkeys(word for value in values for word in value.split())
        numbers = [_scalar(descriptor, word) for word in words]
        getattr(message, descriptor.name).extend(dict.fromkeys(numbers))
        return
    value = values[-1]  # a single-valued field sent twice: the last one wins
    if value == "" and not bound.field.keep_empty:
        return
    if bound.field.false_unless_true and descriptor.type == FieldDescriptor.TYPE_BOOL:
        setattr(message, descriptor.name, value.lower() == "true")
        return
    setattr(message, descriptor.name, _scalar(descriptor, value))


def fill(message: Message, table: Sequence[_Bound], form: MultiMapping[str]) -> None:
    violations: list[FieldViolation] = []
    for bound in table:
        values = form.getall(bound.field.wire, [])
        if not values:
            continue
        try:
            _assign(message, bound, list(values))
        except BadValue as bad:
            violations.append(FieldViolation(bound.field.wire, str(bad), bound.field.twilio_code))
    if violations:
        raise invalid(violations)


def paging_number(query: MultiMapping[str], wire: str, default: int) -> int:
    values = query.getall(wire, [])
    if not values or values[-1] == "":
        return default
    try:
        return _parse_integer(values[-1])
    except BadValue as bad:
        raise invalid([FieldViolation(wire, str(bad))]) from None
