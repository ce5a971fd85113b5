"""service.core.attributes: bounds, merge and replace, filters."""

from __future__ import annotations

import pytest

from service.core import attributes
from service.core.errors import RollcallError


def fields(error: pytest.ExceptionInfo[RollcallError]) -> list[str]:
    return [v.field for v in error.value.violations]


def test_bounds_are_typed_errors_naming_the_field() -> None:
    assert attributes.checked({"role": "agent", "a.b-c_1": "x" * 256}) == {
        "role": "agent",
        "a.b-c_1": "x" * 256,
    }
    with pytest.raises(RollcallError) as caught:
        attributes.checked({"bad key": "v", "long": "x" * 257, "empty": ""})
    assert fields(caught) == ["attributes", "attributes[long]", "attributes[empty]"]
    with pytest.raises(RollcallError) as caught:
        attributes.checked({f"k{i}": "v" for i in range(17)})
    assert fields(caught) == ["attributes"]
    with pytest.raises(RollcallError):
        attributes.checked({"k" * 65: "v"})


def test_update_merges_removes_and_replaces_without_touching_the_current() -> None:
    current = {"role": "agent", "team": "blue"}
    attributes.check_update({"team": ""})  # an empty value removes: allowed
    assert attributes.merged(current, {"team": "", "skill": "fr"}, replace=False) == {
        "role": "agent",
        "skill": "fr",
    }
    assert attributes.merged(current, {"skill": "fr"}, replace=True) == {"skill": "fr"}
    assert attributes.merged(current, {}, replace=True) == {}
    assert current == {"role": "agent", "team": "blue"}
    full = {f"k{i}": "v" for i in range(16)}
    with pytest.raises(RollcallError):
        attributes.merged(full, {"one": "more"}, replace=False)


def test_filters_parse_and_match_every_pair() -> None:
    flt = attributes.parse_filter(["team=blue", "role=agent", "role=agent"])
    assert flt == (("role", "agent"), ("team", "blue"))
    assert attributes.matches({"role": "agent", "team": "blue", "x": "y"}, flt)
    assert not attributes.matches({"role": "agent"}, flt)
    assert attributes.matches({}, ())
    for bad in (["role"], ["role=a", "role=b"], ["=x"], ["role="]):
        with pytest.raises(RollcallError):
            attributes.parse_filter(bad)
