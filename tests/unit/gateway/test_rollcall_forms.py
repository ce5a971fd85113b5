"""The forms of Rollcall's own routes: a move's destination and a bulk change's fields."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from service.core.errors import RollcallError
from service.gateway.rollcall_forms import parse_bulk, parse_move

PARENT = "accounts/AC1/conferences/panel"


def test_bulk_names_participants_by_repeated_keys_and_words() -> None:
    form = MultiDict(
        [("Participants", "host CA1"), ("Participants", "guest"), ("AllExcept", "TRUE"),
         ("Hold", "false"), ("Unknown", "x")]
    )  # fmt: skip
    request = parse_bulk(form, parent=PARENT)
    assert list(request.participants) == ["host", "CA1", "guest"]
    assert request.all_except and request.HasField("hold") and not request.hold
    assert not request.HasField("muted")  # not given: left as it is


def test_bulk_names_every_unparseable_field() -> None:
    with pytest.raises(RollcallError) as caught:
        parse_bulk(MultiDict([("Muted", "maybe"), ("AllExcept", "2")]), parent=PARENT)
    assert sorted(v.field for v in caught.value.violations) == ["AllExcept", "Muted"]


@pytest.mark.parametrize("destination", ["", "a/b"])
def test_a_move_destination_is_a_conference_of_the_account(destination: str) -> None:
    with pytest.raises(RollcallError) as caught:
        parse_move(MultiDict(Destination=destination), name="n", account="AC1")
    assert [v.field for v in caught.value.violations] == ["Destination"]
    moved = parse_move(MultiDict(Destination="office", Muted="true"), name="n", account="AC1")
    assert (moved.destination, moved.muted) == ("accounts/AC1/conferences/office", True)
