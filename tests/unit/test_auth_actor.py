"""service.auth: the actor of an authenticated caller's changes."""

from __future__ import annotations

import base64

from service import auth, logins
from service.core import actors

ACCOUNT = "AC" + "a" * 32
KEY = "SK" + "c" * 32
TRUSTED = auth.parse_networks("10.0.0.0/8, ::1/128")


def test_forwarded_address_only_from_a_trusted_proxy() -> None:
    chain = "198.51.100.7, 10.1.1.1"
    assert auth.forwarded_client("10.0.0.2", chain, TRUSTED) == "198.51.100.7"
    assert auth.forwarded_client("203.0.113.5", chain, TRUSTED) == ""  # not a proxy of ours
    assert auth.forwarded_client("10.0.0.2", "", TRUSTED) == ""
    assert auth.forwarded_client("10.0.0.2", chain, []) == ""
    # The nearest untrusted hop: a client cannot pass itself off by prepending.
    assert auth.forwarded_client("::1", "1.2.3.4, 198.51.100.7", TRUSTED) == "198.51.100.7"


def test_request_id_is_the_clients_when_printable_else_a_new_one() -> None:
    assert auth.request_id("abc-123") == "abc-123"
    made = auth.request_id("bad\nid")
    assert made.startswith("RQ") and len(made) == 34
    assert auth.request_id("") != auth.request_id("")  # each new one is new
    assert auth.request_id("x" * 129) != "x" * 129


def test_the_authenticated_caller_is_the_actor() -> None:
    authenticator = auth.Authenticator(
        {ACCOUNT: "t" * 32}, {KEY: ("s" * 32, ACCOUNT)}, trusted_proxies=TRUSTED
    )
    logins.calling("rest", "10.0.0.9", peer="10.0.0.9", forwarded="192.0.2.4", request_id="r1")
    with actors.as_actor(actors.ROLLCALL):  # reset after the test
        answered = authenticator.authenticate(
            "Basic " + base64.b64encode(f"{KEY}:{'s' * 32}".encode()).decode()
        )
        acting = actors.current()
    assert answered == ACCOUNT
    assert acting == actors.Actor(
        actors.ActorKind.API_KEY,
        sid=KEY,
        face="rest",
        peer="10.0.0.9",
        forwarded_for="192.0.2.4",
        request_id="r1",
    )
