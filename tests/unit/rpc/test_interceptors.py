"""service.rpc.interceptors: handlers wrapped once stay within their bound
(the wrapping itself is tested through service.rpc.front)."""

from __future__ import annotations

from service.rpc.interceptors import Wrapped


def test_the_wrapped_handlers_stay_within_their_bound() -> None:
    wrapped = Wrapped(limit=4)
    made = [wrapped.get(("handler", n), lambda h: ("wrapped", h)) for n in range(10)]
    assert made[-1] == ("wrapped", ("handler", 9))
    assert len(wrapped._wrapped) <= 4
