"""A participant's attributes: the tenant's own key/value pairs, bounded.

Rule 1: at most MAX_KEYS keys; a key is 1-64 characters of letters, digits,
        `_`, `-` and `.`; a value is at most MAX_VALUE characters. Anything past
        these bounds is INVALID_ARGUMENT naming the field (and the key) and
        changes nothing.
Rule 2: Create sets them; Update merges (each key given is set, a key given
        with an empty value is removed, others are kept) or, asked to, replaces
        them all; the result is held to Rule 1.
Rule 3: a filter is `key=value` pairs, every one of which must match; a
        filter names at most MAX_KEYS pairs under Rule 1's bounds.
Rule 4: they are Rollcall's record only: never part of what the carrier is
        asked to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from service.core import errors
from service.core.errors import FieldViolation

MAX_KEYS = 16
MAX_KEY = 64
MAX_VALUE = 256
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

Filter = tuple[tuple[str, str], ...]


def _violations(
    field: str, attributes: Mapping[str, str], *, empty_ok: bool
) -> list[FieldViolation]:
    bad: list[FieldViolation] = []
    for key, value in attributes.items():
        if not _KEY.fullmatch(key):
            bad.append(
                FieldViolation(
                    field, f"key {errors.echo(key)!s} must be 1-{MAX_KEY} of A-Z a-z 0-9 _ - ."
                )
            )
        elif len(value) > MAX_VALUE:
            bad.append(FieldViolation(f"{field}[{key}]", f"must not exceed {MAX_VALUE} characters"))
        elif not value and not empty_ok:
            bad.append(FieldViolation(f"{field}[{key}]", "must not be empty"))
    return bad


def checked(attributes: Mapping[str, str], field: str = "attributes") -> dict[str, str]:
    """Create's attributes, held to Rule 1."""
    bad = _violations(field, attributes, empty_ok=False)
    if not bad and len(attributes) > MAX_KEYS:
        bad.append(FieldViolation(field, f"must not have more than {MAX_KEYS} keys"))
    if bad:
        raise errors.invalid(bad)
    return dict(attributes)


def check_update(changes: Mapping[str, str], field: str = "attributes") -> None:
    """An Update's attributes on their own (an empty value removes its key)."""
    bad = _violations(field, changes, empty_ok=True)
    if bad:
        raise errors.invalid(bad)


def merged(
    current: Mapping[str, str],
    changes: Mapping[str, str],
    *,
    replace: bool,
    field: str = "attributes",
) -> dict[str, str]:
    """Rule 2: the attributes after an Update; a new dict, never `current` changed."""
    result = {} if replace else dict(current)
    for key, value in changes.items():
        if value:
            result[key] = value
        else:
            result.pop(key, None)
    if len(result) > MAX_KEYS:
        raise errors.invalid_field(field, f"must not have more than {MAX_KEYS} keys")
    return result


def parse_filter(pairs: Iterable[str], field: str = "attributes") -> Filter:
    """`key=value` pairs (Rule 3), in a stable order."""
    found: dict[str, str] = {}
    bad: list[FieldViolation] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            bad.append(FieldViolation(field, "each must be key=value"))
            continue
        if key in found and found[key] != value:
            bad.append(FieldViolation(field, f"key {errors.echo(key)} named twice"))
            continue
        found[key] = value
    bad.extend(_violations(field, found, empty_ok=False))
    if not bad and len(found) > MAX_KEYS:
        bad.append(FieldViolation(field, f"must not name more than {MAX_KEYS} keys"))
    if bad:
        raise errors.invalid(bad)
    return tuple(sorted(found.items()))


def matches(attributes: Mapping[str, str], flt: Filter) -> bool:
    return all(attributes.get(key) == value for key, value in flt)
