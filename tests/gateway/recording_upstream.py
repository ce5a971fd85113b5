"""A recording wrapper around a real gateway Upstream, for the gateway tests.

It forwards every call to the real service (in process through LocalUpstream,
or over a real channel through GrpcUpstream) and notes what the gateway sent:
the method, the request message and the `Authorization` value. Recording is
not mocking: the real service still decides every answer.

`fail_with` exists only for the failures the real service cannot be made to
produce on demand (INTERNAL, UNAVAILABLE, a bare RuntimeError from a broken
component): the next call raises it instead of being forwarded, so the
gateway's mapping of that real error type can be checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message

from service.gateway.upstream import Upstream


@dataclasses.dataclass
class Call:
    method: str
    request: Message
    authorization: str | None


_METHODS = {
    "create": "create_participant",
    "fetch": "fetch_participant",
    "list": "list_participants",
    "update": "update_participant",
    "delete": "delete_participant",
    "list_conferences": "list_conferences",
    "fetch_conference": "fetch_conference",
    "update_conference": "update_conference",
}


class RecordingUpstream:
    """Satisfies service.gateway.upstream.Upstream by forwarding to `inner`."""

    def __init__(self, inner: Upstream) -> None:
        self.inner = inner
        self.calls: list[Call] = []
        # Raised by the next call instead of forwarding it (see the docstring).
        self.fail_with: BaseException | None = None
        for short, method in _METHODS.items():
            setattr(self, method, self._recorder(short, getattr(inner, method)))

    def _recorder(
        self, short: str, forward: Callable[[Any, str | None], Awaitable[Any]]
    ) -> Callable[[Any, str | None], Awaitable[Any]]:
        async def call(request: Any, authorization: str | None) -> Any:
            self.calls.append(Call(short, request, authorization))
            if self.fail_with is not None:
                failure, self.fail_with = self.fail_with, None
                raise failure
            return await forward(request, authorization)

        return call

    def last(self, method: str) -> Message:
        return next(c.request for c in reversed(self.calls) if c.method == method)
