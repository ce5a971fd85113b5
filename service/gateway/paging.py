"""Twilio's page numbers over the service's page tokens.

Rule 1: `Page=N` without a `PageToken` means the records from index N*PageSize
        onwards (what twilio-python 5.x `list(page=N)` and twilio-node 2.x send),
        so `start` and `end` are always true record indices.
Rule 2: the service pages by opaque tokens only, so the gateway walks to record
        N*PageSize with ordinary List calls (at most 1,000 records each, through
        the same Upstream) and asks for the page from the token it reached.
Rule 3: a list shorter than that answers an empty page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sized
from typing import Any, Protocol, TypeVar

MAX_STEP = 1000


class _ListRequest(Protocol):
    page_size: int
    page_token: str

    def CopyFrom(self, other: Any) -> None: ...


Req = TypeVar("Req", bound=_ListRequest)
Resp = TypeVar("Resp")


async def token_for_offset(
    call: Callable[[Req], Awaitable[Resp]],
    request: Req,
    offset: int,
    records: Callable[[Resp], Sized],
    next_token: Callable[[Resp], str],
) -> str | None:
    """A page token whose page starts at record `offset` ("" for offset 0),
    or None when the list has no record at that index."""
    token = ""
    remaining = offset
    while remaining > 0:
        step = type(request)()
        step.CopyFrom(request)
        step.page_size = min(remaining, MAX_STEP)
        step.page_token = token
        response = await call(step)
        token = next_token(response)
        remaining -= len(records(response))
        if not token:
            return None
    return token


async def page_from(
    call: Callable[[Req], Awaitable[Resp]],
    request: Req,
    offset: int,
    records: Callable[[Resp], Sized],
    next_token: Callable[[Resp], str],
    empty: Callable[[], Resp],
) -> Resp:
    """The page of `request` that starts at record `offset` (`empty()` past the end)."""
    if offset == 0:
        return await call(request)
    token = await token_for_offset(call, request, offset, records, next_token)
    if token is None:
        return empty()
    message = type(request)()
    message.CopyFrom(request)
    message.page_token = token
    return await call(message)
