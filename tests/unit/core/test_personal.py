"""service.core.personal: normalizing and hashing numbers, and redaction."""

from __future__ import annotations

import pytest

from service.core import personal
from tests.fakes.stores import conference, participant


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("+1 (555) 010-0000", "+15550100000"),
        ("0044 20 7946 0000", "+442079460000"),
        ("15550100000", "+15550100000"),
        ("sip:Alice@Example.com", "sip:alice@example.com"),
        ("client:Agent7", "client:agent7"),
        ("  ", ""),
    ],
)
def test_normalize(given: str, normal: str) -> None:
    assert personal.normalize(given) == normal


def test_the_digest_is_keyed_and_never_the_number() -> None:
    one, two = personal.NumberHasher(b"1" * 32), personal.NumberHasher(b"2" * 32)
    assert one.digest("+1 555 010 0000") == one.digest("+15550100000")
    assert one.digest("+15550100000") != two.digest("+15550100000")
    assert "5550100000" not in one.digest("+15550100000")
    assert one.digest("") == ""
    with pytest.raises(ValueError, match="16 bytes"):
        personal.NumberHasher(b"short")


def test_redaction_blanks_personal_fields_and_keeps_the_rest() -> None:
    p = participant(conference(), "ann")
    p.settings = {"caller_id": "+15550100000", "beep": "true", "sip_auth_password": "pw"}
    p.revision = 7
    gone = personal.redact(p)
    assert (gone.from_endpoint, gone.to_endpoint, gone.label) == ("", "", None)
    assert gone.settings == {"caller_id": "", "beep": "true", "sip_auth_password": ""}
    assert (gone.call_sid, gone.revision, gone.status) == (p.call_sid, 7, p.status)
    assert p.label == "ann"  # a copy: the original is untouched
    assert personal.is_redacted(gone) and not personal.is_redacted(p)
    assert personal.redact_data(p.to_dict())["to_endpoint"] == ""
    assert personal.redact_event_data({"participant": None}) == {"participant": None}
    # Attributes, wherever the participant's data holds them, keep their kind.
    data = {**p.to_dict(), "attributes": {"tier": "gold"}, "settings": {"attributes": "x"}}
    blanked = personal.redact_data(data)
    assert (blanked["attributes"], blanked["settings"]) == ({}, {"attributes": ""})


def test_callback_parameters_redacted_by_name() -> None:
    params = {"From": "+1", "ToZip": "9", "CallerName": "Ann", "CallSid": "CA1", "Timestamp": "t"}
    assert personal.redact_params(params) == {
        "From": "",
        "ToZip": "",
        "CallerName": "",
        "CallSid": "CA1",
        "Timestamp": "t",
    }
