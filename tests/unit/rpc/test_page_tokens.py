"""Page tokens: sealed, bound, and refused when tampered with."""

from __future__ import annotations

import base64

import pytest

from service.core.errors import RollcallError
from service.core.ports.store import ParticipantFilter
from service.rpc.page_tokens import MAX_LENGTH, PageTokens, binding, new_key

BOUND = binding("AC1", "room", ParticipantFilter())


def test_round_trip_and_opacity() -> None:
    tokens = PageTokens(new_key())
    a, b = tokens.issue(7, None, BOUND), tokens.issue(7, None, BOUND)
    assert a != b and len(a) == len(b) <= MAX_LENGTH
    assert tokens.open(a, BOUND) == (7, None)
    assert tokens.open(tokens.issue(None, 2**40, BOUND), BOUND) == (None, 2**40)
    assert len(tokens.issue(2**62, None, BOUND)) == len(a)


def test_a_shared_key_opens_tokens_of_another_instance() -> None:
    key = new_key()
    assert PageTokens(key).open(PageTokens(key).issue(3, None, BOUND), BOUND) == (3, None)


@pytest.mark.parametrize(
    "other",
    [
        binding("AC2", "room", ParticipantFilter()),
        binding("AC1", "other", ParticipantFilter()),
        binding("AC1", "room", ParticipantFilter(muted=True)),
        binding("AC1", "room", ParticipantFilter(include_ended=True)),
    ],
)
def test_bound_to_account_conference_and_filter(other: bytes) -> None:
    tokens = PageTokens()
    with pytest.raises(RollcallError) as caught:
        tokens.open(tokens.issue(1, None, BOUND), other)
    assert caught.value.violations[0].field == "page_token"


def test_tampered_and_foreign_tokens_are_invalid() -> None:
    tokens = PageTokens()
    good = tokens.issue(1, None, BOUND)
    raw = bytearray(base64.urlsafe_b64decode(good[2:] + "=" * (-len(good[2:]) % 4)))
    raw[-1] ^= 1
    for bad in (
        "PT" + base64.urlsafe_b64encode(bytes(raw)).decode(),
        PageTokens().issue(1, None, BOUND),  # another key
        good[:-4],
        "PT",
        "PT\u00e9",
        good + "A" * 100,
    ):
        with pytest.raises(RollcallError):
            tokens.open(bad, BOUND)
