"""service.auth Rule 7: verified Authorization values remembered, and what that may never change."""

from __future__ import annotations

import pytest

from service import auth, logins
from service.auth import Authenticator
from service.clock import ManualClock
from service.core import actors
from service.core.errors import RollcallError
from tests.conftest import basic

AC = "AC" + "a" * 32
OTHER = "AC" + "b" * 32
SK = "SK" + "c" * 32
TOKEN = "t" * 32
OTHER_TOKEN = "u" * 32
SECRET = "s" * 32


def refused(a: Authenticator, authorization: str) -> str:
    with pytest.raises(RollcallError) as caught:
        a.authenticate(authorization)
    return caught.value.reason


def test_a_remembered_value_acts_for_its_own_account_and_this_calls_caller() -> None:
    a = Authenticator({AC: TOKEN, OTHER: OTHER_TOKEN}, {SK: (SECRET, AC)})
    mine, theirs, key = basic(AC, TOKEN), basic(OTHER, OTHER_TOKEN), basic(SK, SECRET)
    for _ in range(2):  # checked, then remembered
        assert a.authenticate(mine) == AC
        assert a.authenticate(theirs) == OTHER
        assert a.authenticate(key) == AC
    logins.calling("grpc", "10.0.0.7", peer="10.0.0.7", request_id="second")
    with actors.as_actor(actors.ROLLCALL):  # reset after the test
        assert a.authenticate(key) == AC
        acting = actors.current()
    assert (acting.kind, acting.sid, acting.peer, acting.request_id) == (
        actors.ActorKind.API_KEY, SK, "10.0.0.7", "second",
    )  # fmt: skip


def test_a_wrong_secret_is_refused_after_the_right_one_was_remembered() -> None:
    a = Authenticator({AC: TOKEN, OTHER: OTHER_TOKEN}, {SK: (SECRET, AC)})
    assert a.authenticate(basic(AC, TOKEN)) == AC
    assert refused(a, basic(AC, OTHER_TOKEN)) == "CREDENTIALS_INVALID"
    assert refused(a, basic(OTHER, TOKEN)) == "CREDENTIALS_INVALID"  # another tenant's name
    assert refused(a, basic(SK, TOKEN)) == "CREDENTIALS_INVALID"
    # Failures are never remembered: the same wrong value is checked (and refused) again.
    assert refused(a, basic(AC, OTHER_TOKEN)) == "CREDENTIALS_INVALID"


def test_new_credentials_drop_what_the_old_ones_let_in() -> None:
    old = Authenticator({AC: TOKEN})
    assert old.authenticate(basic(AC, TOKEN)) == AC
    # Credentials are configuration: rotating a token is a new Authenticator.
    rotated = Authenticator({AC: OTHER_TOKEN})
    assert refused(rotated, basic(AC, TOKEN)) == "CREDENTIALS_INVALID"
    assert rotated.authenticate(basic(AC, OTHER_TOKEN)) == AC


def test_a_throttled_source_is_refused_even_with_a_remembered_value() -> None:
    throttle = logins.LoginThrottle(ManualClock(), logins.Budget(2, 6.0), logins.Budget(100, 6.0))
    a = Authenticator({AC: TOKEN}, throttle=throttle)
    good = basic(AC, TOKEN)
    logins.calling("grpc", "10.0.0.1")
    assert a.authenticate(good) == AC  # remembered now
    for _ in range(2):
        assert refused(a, basic(AC, "wrong" * 8)) == "CREDENTIALS_INVALID"
    assert refused(a, good) == "TOO_MANY_FAILED_LOGINS"
    logins.calling("grpc", "10.0.0.2")
    assert a.authenticate(good) == AC


def test_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_ENTRIES", 2)
    a = Authenticator({AC: TOKEN, OTHER: OTHER_TOKEN}, {SK: (SECRET, AC)})
    for value in (basic(AC, TOKEN), basic(OTHER, OTHER_TOKEN), basic(SK, SECRET)):
        a.authenticate(value)
    assert len(a._verified) == 2
    assert basic(AC, TOKEN) not in a._verified  # the oldest went first
    assert a.authenticate(basic(AC, TOKEN)) == AC  # and is simply checked again
