"""The settings' help text (service.config_help) stays beside their definitions."""

from __future__ import annotations

import dataclasses

from service.config import ALIASES, Settings
from service.config_help import SETTINGS_HELP


def test_every_setting_has_help_under_its_own_name_and_nothing_else_does() -> None:
    names = {field.name for field in dataclasses.fields(Settings)}
    assert set(SETTINGS_HELP) == names
    assert not set(ALIASES) & set(SETTINGS_HELP)
