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
from typing import Any, TypeVar, cast

from google.protobuf.message import Message

from service.gateway.upstream import Upstream


@dataclasses.dataclass
class Call:
    method: str
    request: Message
    authorization: str | None


_Forward = TypeVar("_Forward", bound=Callable[..., Awaitable[Any]])


class RecordingUpstream:
    """Satisfies service.gateway.upstream.Upstream by forwarding to `inner`."""

    def __init__(self, inner: Upstream) -> None:
        self.inner = inner
        self.calls: list[Call] = []
        # Raised by the next call instead of forwarding it (see the docstring).
        self.fail_with: BaseException | None = None
        self.create_participant = self._recorder("create", inner.create_participant)
        self.fetch_participant = self._recorder("fetch", inner.fetch_participant)
        self.list_participants = self._recorder("list", inner.list_participants)
        self.update_participant = self._recorder("update", inner.update_participant)
        self.delete_participant = self._recorder("delete", inner.delete_participant)
        self.list_conferences = self._recorder("list_conferences", inner.list_conferences)
        self.fetch_conference = self._recorder("fetch_conference", inner.fetch_conference)
        self.update_conference = self._recorder("update_conference", inner.update_conference)
        self.create_watch_token = self._recorder("create_watch_token", inner.create_watch_token)
        self.move_participant = self._recorder("move", inner.move_participant)
        self.get_hearing = self._recorder("get_hearing", inner.get_hearing)
        # A stream: forwarded as it is, not recorded.
        self.watch_account = inner.watch_account

    def _recorder(self, short: str, forward: _Forward) -> _Forward:
        """`forward`, recorded as `short`; of forward's own type."""

        async def call(request: Any, authorization: str | None) -> Any:
            self.calls.append(Call(short, request, authorization))
            if self.fail_with is not None:
                failure, self.fail_with = self.fail_with, None
                raise failure
            return await forward(request, authorization)

        return cast(_Forward, call)

    def last(self, method: str) -> Message:
        return next(c.request for c in reversed(self.calls) if c.method == method)
