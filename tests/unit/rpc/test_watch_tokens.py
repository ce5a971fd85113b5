"""Watch tokens: minted for an account, opened by any replica with the key,
refused typed when forged or expired; a token's stream ends at its expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.clock import ManualClock
from service.core.errors import RollcallError
from service.rpc.page_tokens import new_key
from service.rpc.watch_tokens import WatchTokens, bearer, until_expiry

ACCOUNT = "AC" + "a" * 32


def _reason(tokens: WatchTokens, token: str) -> str:
    with pytest.raises(RollcallError) as refused:
        tokens.open(token)
    assert refused.value.http_status == 401
    return refused.value.reason


def test_a_token_opens_for_its_account_on_every_replica_until_it_expires() -> None:
    key, clock = new_key(), ManualClock()
    tokens = WatchTokens(key, clock, ttl_seconds=300)
    token, expires = tokens.mint(ACCOUNT)
    assert token.startswith("WT")
    assert expires == clock.now() + 300
    replica = WatchTokens(key, clock, ttl_seconds=60)  # another replica, the same key
    opened_account, opened_expires = replica.open(token)
    assert opened_account == ACCOUNT
    assert opened_expires == pytest.approx(expires, abs=0.001)
    # Each token is its own (a nonce inside), and none shows the account.
    again, _ = tokens.mint(ACCOUNT)
    assert again != token
    assert ACCOUNT not in token and "a" * 8 not in token


async def test_expired_forged_and_foreign_tokens_are_refused_typed() -> None:
    clock = ManualClock()
    tokens = WatchTokens(new_key(), clock, ttl_seconds=300)
    token, _ = tokens.mint(ACCOUNT)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for forged in (flipped, token[:-6], "WT", "WT" + "A" * 60, "not a token", token + "A" * 600):
        assert _reason(tokens, forged) == "WATCH_TOKEN_INVALID", forged
    other_key = WatchTokens(new_key(), clock, ttl_seconds=300)
    assert _reason(other_key, token) == "WATCH_TOKEN_INVALID"
    await clock.advance(299)
    assert tokens.open(token)[0] == ACCOUNT
    await clock.advance(1)
    assert _reason(tokens, token) == "WATCH_TOKEN_EXPIRED"


def test_bearer_reads_only_the_bearer_scheme() -> None:
    assert bearer("Bearer WTabc") == "WTabc"
    assert bearer("bearer   WTabc ") == "WTabc"
    assert bearer("Basic QUM6eA==") is None
    assert bearer(None) is None
    assert bearer("") is None


async def test_a_stream_ends_with_its_first_item_after_the_expiry() -> None:
    clock = ManualClock()
    sent: list[int] = []
    closed: list[bool] = []

    async def items() -> AsyncIterator[int]:
        try:
            for i in range(10):
                if i == 2:
                    await clock.advance(10)
                sent.append(i)
                yield i
        finally:
            closed.append(True)

    got: list[int] = []

    async def read() -> None:
        async for item in until_expiry(items(), clock, clock.now() + 5):
            got.append(item)

    with pytest.raises(RollcallError) as ended:
        await read()
    assert ended.value.reason == "WATCH_TOKEN_EXPIRED"
    assert got == [0, 1]
    assert sent == [0, 1, 2]
    assert closed == [True]
