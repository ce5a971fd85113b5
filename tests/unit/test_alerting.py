"""service.alerting: the account defaults' format."""

from __future__ import annotations

import pytest

from service.alerting import parse_defaults
from service.core.records import AlertRules


def test_defaults_per_account_and_for_every_account() -> None:
    parsed = parse_defaults(
        " *:hold=120,empty=30 ; ACx:no_agent=15,agent=team=desk,end=true,duration=3600"
    )
    assert parsed == {
        "*": AlertRules(hold_seconds=120, empty_seconds=30),
        "ACx": AlertRules(
            no_agent_seconds=15,
            agent_attribute="team=desk",
            end_conference=True,
            duration_seconds=3600,
        ),
    }
    assert parse_defaults("") == {}


@pytest.mark.parametrize(
    "text",
    ["hold=1", "*:hold", "*:hold=-1", "*:hold=inf", "*:end=maybe", "*:color=red", "*:hold=soon"],
)
def test_bad_defaults_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="alert defaults"):
        parse_defaults(text)
