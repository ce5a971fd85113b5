"""Update booleans in the 2010 edition's forms (service.gateway.participant_forms):
Muted is false unless true, the others refuse non-booleans."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from service.core.errors import RollcallError
from service.gateway import participant_forms


@pytest.mark.parametrize(("word", "muted"), [("yes", False), ("TRUE", True), ("0", False)])
def test_update_muted_is_false_unless_true(word: str, muted: bool) -> None:
    request = participant_forms.parse_update(MultiDict({"Muted": word}), name="n")
    assert request.HasField("muted") and request.muted is muted
    assert not participant_forms.parse_update(MultiDict({"Muted": ""}), name="n").HasField("muted")


def test_other_update_booleans_still_refuse_non_booleans() -> None:
    with pytest.raises(RollcallError):
        participant_forms.parse_update(MultiDict({"Hold": "yes"}), name="n")
    with pytest.raises(RollcallError):
        participant_forms.parse_create(MultiDict({"Muted": "yes"}), parent="p")
