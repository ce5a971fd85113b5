"""Resource names: what names.py formats, it parses back; bad names name the field."""

from __future__ import annotations

import pytest

from service.core import errors
from service.core.errors import RollcallError
from service.rpc import names
from service.rpc.names import parse_name, parse_parent

AC = "AC" + "a" * 32
CF = "CF" + "b" * 32
CA = "CA" + "c" * 32


def test_formatted_names_parse_back() -> None:
    assert names.parse_account(names.account_name(AC)) == AC
    ref = names.parse_parent(names.conference_name(AC, CF))
    assert (ref.account_sid, ref.key, ref.is_sid) == (AC, CF, True)
    ref, key = names.parse_name(names.participant_name(AC, "My Room", CA))
    assert (ref.account_sid, ref.key, ref.is_sid, key) == (AC, "My Room", False, CA)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: names.parse_account("accounts/ACnope"), "parent"),
        (lambda: names.parse_account(f"users/{AC}"), "parent"),
        (lambda: names.parse_conference(f"accounts/{AC}/rooms/x", "name"), "name"),
        (lambda: names.parse_parent(f"accounts/{AC}/conferences/"), "parent"),
        (lambda: names.parse_name(f"accounts/{AC}/conferences/{CF}/participants/"), "name"),
    ],
)
def test_bad_names_are_invalid_naming_the_field(call: object, field: str) -> None:
    with pytest.raises(RollcallError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.reason == "INVALID_ARGUMENT"
    assert [v.field for v in caught.value.violations] == [field]


def test_parsed_names_are_remembered_within_a_bound_and_bad_ones_never() -> None:
    good = f"accounts/AC{'a' * 32}/conferences/room/participants/host"
    assert names.parse_name(good) is names.parse_name(good)
    with pytest.raises(RollcallError):
        names.parse_name("accounts/nope")
    assert "accounts/nope" not in names._parsed
    for n in range(names._PARSED_LIMIT + 10):
        names.parse_name(f"accounts/AC{'a' * 32}/conferences/room/participants/p{n}")
    assert len(names._parsed) <= names._PARSED_LIMIT


def test_names() -> None:
    ref = parse_parent(f"accounts/{AC}/conferences/My Room")
    assert (ref.account_sid, ref.key, ref.is_sid) == (AC, "My Room", False)
    sid_ref, key = parse_name(f"accounts/{AC}/conferences/CF{'0' * 32}/participants/agent one")
    assert sid_ref.is_sid and key == "agent one"
    for bad in (
        "",
        f"accounts/{AC}/conferences/",
        "accounts/AC1/conferences/x",
        f"accounts/{AC}/conferences/CF{'z' * 32}",
        f"accounts/{AC}/rooms/x",
    ):
        with pytest.raises(errors.RollcallError) as caught:
            parse_parent(bad)
        assert caught.value.violations[0].field == "parent"
