"""The account watch's cursor (service.rpc.account_cursor): positions round-trip
sealed and bound."""

from __future__ import annotations

import pytest

from service.core.errors import RollcallError
from service.rpc.account_cursor import CursorSeal, Position, fingerprint


def test_cursor_positions_round_trip_sealed_and_bound() -> None:
    filters = fingerprint("desk-", [3, 1], ["b", "a"])
    assert filters == fingerprint("desk-", [1, 3], ["a", "b"])
    position = Position(filters, 2**40, seen=[7, 3], at={10: 5, 2**33: 1})
    position.set(10, 6)
    position.set(11, 1)
    position.drop(2**33)
    seal = CursorSeal("00" * 32)
    cursor = seal.seal("ACone", position.encode())
    assert cursor == seal.seal("ACone", position.encode())  # one position, one cursor
    opened = seal.open("ACone", cursor, filters)
    assert (opened.horizon, opened.seen, opened.at) == (2**40, {3, 7}, {10: 6, 11: 1})
    for account, token, wanted in (
        ("ACtwo", cursor, "CURSOR_INVALID"),
        ("ACone", cursor[:-1], "CURSOR_INVALID"),
        ("ACone", "AW" + cursor[3:], "CURSOR_INVALID"),
    ):
        with pytest.raises(RollcallError) as caught:
            seal.open(account, token, filters)
        assert caught.value.reason == wanted
    with pytest.raises(RollcallError) as caught:
        seal.open("ACone", cursor, fingerprint("", [], []))
    assert caught.value.reason == "CURSOR_FILTER_MISMATCH"
    with pytest.raises(RollcallError) as caught:
        CursorSeal("11" * 32).open("ACone", cursor, filters)
    assert caught.value.reason == "CURSOR_INVALID"
    # A thousand conferences fit in a few kilobytes.
    big = Position(filters, 10**9, at={10**6 + i: 5000 + i for i in range(1000)})
    assert len(seal.seal("ACone", big.encode())) < 10_000


def test_streams_at_one_position_share_a_cursor_never_across_accounts() -> None:
    filters = fingerprint("", [], [])
    plain = Position(filters, 7, at={1: 2, 3: 4}).encode()
    seal = CursorSeal("00" * 32)
    mine = seal.seal("ACone", plain)
    assert seal.seal("ACone", plain) == mine == CursorSeal("00" * 32).seal("ACone", plain)
    theirs = seal.seal("ACtwo", plain)
    assert theirs != mine
    assert seal.open("ACtwo", theirs, filters).at == {1: 2, 3: 4}
    with pytest.raises(RollcallError):
        seal.open("ACtwo", mine, filters)
    # Many positions later, the first is sealed again, the same.
    for revision in range(200):
        seal.seal("ACone", Position(filters, 7, at={1: revision}).encode())
    assert seal.seal("ACone", plain) == mine
