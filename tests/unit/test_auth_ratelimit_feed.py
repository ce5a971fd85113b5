"""Units with no test of their own before: the authenticator, the per-account
rate limiter and the watch feed's recent-events cache."""

from __future__ import annotations

import base64

import pytest

from service.auth import Authenticator
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.core.model import Conference, ConferenceStatus, Event, EventType
from service.ratelimit import RateLimiter
from service.rpc.watch_feed import Feed

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


async def test_rate_limit_burst_refill_and_separate_accounts() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock, per_second=2.0, burst=3)
    for _ in range(3):
        limiter.take(AC)
    with pytest.raises(RollcallError) as caught:
        limiter.take(AC)
    assert caught.value.reason == "RATE_LIMITED"
    assert caught.value.metadata["retry_after_seconds"] == "1"
    limiter.take(OTHER)  # its own bucket
    await clock.advance(0.5)  # one token back at 2 per second
    limiter.take(AC)
    with pytest.raises(RollcallError):
        limiter.take(AC)
    await clock.advance(10)  # refills to the burst, no further
    for _ in range(3):
        limiter.take(AC)
    with pytest.raises(RollcallError):
        limiter.take(AC)


def test_a_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(ManualClock(), per_second=0, burst=1)
    for _ in range(100):
        limiter.take(AC)


def _event(revision: int) -> Event:
    conf = Conference(
        sid="CF" + "1" * 32,
        account_sid=AC,
        friendly_name="room",
        status=ConferenceStatus.IN_PROGRESS,
        revision=revision,
        max_participants=250,
        date_created=0.0,
        date_updated=0.0,
    )
    return Event(conf.sid, AC, revision, 0.0, EventType.ANNOUNCEMENT_ENDED, conf)


def test_feed_serves_what_it_holds_contiguously_and_nothing_else() -> None:
    feed = Feed()
    assert feed.after(0) is None  # empty: read the store
    for revision in (5, 6, 7):
        feed.publish(_event(revision))
    assert feed.revision == 7
    assert feed.after(3) is None  # 4 is not held: read the store
    assert [c.revision for c in feed.after(4) or []] == [5, 6, 7]
    assert [c.revision for c in feed.after(6) or []] == [7]
    assert feed.after(7) == []
    feed.publish(_event(9))  # out of order: the cache restarts from 9
    assert feed.after(6) is None
    assert [c.revision for c in feed.after(8) or []] == [9]
    assert feed.revision == 9


async def test_feed_publish_wakes_every_waiter() -> None:
    import asyncio

    feed = Feed()
    loop = asyncio.get_running_loop()
    waiters = [loop.create_future() for _ in range(2)]
    feed.waiters.update(waiters)
    feed.publish(_event(1))
    assert [w.result() for w in waiters] == [True, True]
    assert feed.waiters == set()
