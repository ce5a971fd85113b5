"""Roles: the shape of a request, and what a role does to muted."""

from __future__ import annotations

import pytest

from service.core import roles
from service.core.errors import Code, RollcallError
from service.core.statuses import Role

A, B = "CA" + "a" * 32, "CA" + "b" * 32


def test_coaching_is_a_whisper_to_one_target() -> None:
    assert roles.from_coaching(True, A) == roles.Wanted(Role.WHISPER, (A,))
    assert roles.from_coaching(False, None) == roles.Wanted(Role.NONE)


@pytest.mark.parametrize(
    ("wanted", "reason", "field"),
    [
        (roles.Wanted(Role.WHISPER), "INVALID_ARGUMENT", "whisper_targets"),
        (roles.Wanted(Role.WHISPER, (A, A)), "INVALID_ARGUMENT", "whisper_targets"),
        (roles.Wanted(Role.MONITOR, (A,)), "INVALID_ARGUMENT", "whisper_targets"),
        (roles.Wanted(Role.WHISPER, (A, B)), "CARRIER_WHISPER_LIMIT", "whisper_targets"),
    ],
)
def test_bad_shapes_are_refused_with_the_field_named(
    wanted: roles.Wanted, reason: str, field: str
) -> None:
    with pytest.raises(RollcallError) as caught:
        roles.check_shape(wanted, 1, None)
    assert caught.value.reason == reason
    assert [v.field for v in caught.value.violations] == [field]


def test_the_carrier_limit_names_itself() -> None:
    with pytest.raises(RollcallError) as caught:
        roles.check_shape(roles.Wanted(Role.WHISPER, (A, B)), 1, None)
    error = caught.value
    assert error.code is Code.FAILED_PRECONDITION and error.metadata == {"limit": "1"}
    assert "at most 1" in error.message and error.twilio_code == 16000
    roles.check_shape(roles.Wanted(Role.WHISPER, (A, B)), None, None)  # no limit: fine


def test_a_participant_cannot_whisper_to_itself() -> None:
    with pytest.raises(RollcallError) as caught:
        roles.check_shape(roles.Wanted(Role.WHISPER, (A,)), None, A)
    assert caught.value.reason == "COACH_TARGET_NOT_PRESENT"


@pytest.mark.parametrize(
    ("old", "new", "muted", "asked", "after"),
    [
        (Role.NONE, Role.MONITOR, False, None, True),  # becoming monitor mutes
        (Role.NONE, Role.MONITOR, False, True, True),
        (Role.MONITOR, Role.NONE, True, None, False),  # leaving monitor unmutes
        (Role.MONITOR, Role.WHISPER, True, True, True),  # ... unless told otherwise
        (Role.NONE, Role.BARGE, True, None, False),  # becoming barge unmutes
        (Role.NONE, Role.BARGE, False, True, True),
        (Role.NONE, Role.WHISPER, True, None, True),  # otherwise muted is its own
        (Role.WHISPER, Role.NONE, False, None, False),
    ],
)
def test_muted_after_a_role_change(
    old: Role, new: Role, muted: bool, asked: bool | None, after: bool
) -> None:
    assert roles.muted_after(old, new, muted, asked) is after


def test_unmuting_a_monitor_is_refused() -> None:
    with pytest.raises(RollcallError) as caught:
        roles.muted_after(Role.NONE, Role.MONITOR, False, False)
    assert caught.value.reason == "ROLE_FORBIDS_UNMUTE"
    assert [v.field for v in caught.value.violations] == ["muted"]
