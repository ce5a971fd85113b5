"""The authenticator (service.auth): account and API key credentials, refusals."""

from __future__ import annotations

import base64

import pytest

from service.auth import Authenticator
from service.core.errors import RollcallError

AC = "AC" + "a" * 32
OTHER = "AC" + "b" * 32
SK = "SK" + "c" * 32


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator({AC: "token-a", OTHER: "token-b"}, {SK: ("key-secret", AC)})


def test_account_and_api_key_credentials_name_their_account(auth: Authenticator) -> None:
    assert auth.authenticate(basic(AC, "token-a")) == AC
    assert auth.authenticate(basic(SK, "key-secret")) == AC
    assert auth.authenticate("basic " + basic(OTHER, "token-b").split()[1]) == OTHER


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer abc",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        basic(AC, "token-b"),  # another account's token
        basic(SK, "token-a"),  # the account's token is not the key's secret
        basic("AC" + "f" * 32, "token-a"),  # unknown account
        "Basic é",
    ],
)
def test_anything_else_is_unauthenticated(auth: Authenticator, authorization: str | None) -> None:
    with pytest.raises(RollcallError) as caught:
        auth.authenticate(authorization)
    assert (caught.value.reason, caught.value.twilio_code) == ("CREDENTIALS_INVALID", 20003)


def test_a_key_for_an_unknown_account_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown account"):
        Authenticator({AC: "t"}, {SK: ("s", OTHER)})
