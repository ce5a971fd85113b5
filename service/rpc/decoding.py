"""Request bytes that do not decode get a typed INVALID_ARGUMENT, not a traceback.

Rule 1: every async handler (service.rpc.front wraps them) decodes with a deserializer
        that never raises: bytes that do not parse become an `Undecodable`, which
        is answered INVALID_ARGUMENT (reason MALFORMED_REQUEST) before any service
        code runs (grpcio alone would answer UNKNOWN naming Python classes, and log
        a traceback).
Rule 2: the refusal is made inside the RPC's log line and metrics
        (service.rpc.front), so it is logged and counted like any other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from service.core import errors
from service.rpc.interceptors import note_reason
from service.rpc.status import to_grpc_status


class Undecodable:
    """Stands in for a request whose bytes did not parse."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:
            return Undecodable(len(raw))

    return decode


async def reject(context: grpc.aio.ServicerContext) -> None:
    """Answer an undecodable request INVALID_ARGUMENT (MALFORMED_REQUEST; raises)."""
    error = errors.malformed_request()
    note_reason(error.reason, error.code.value)
    await context.abort_with_status(to_grpc_status(error))


async def checked(
    requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
) -> AsyncIterator[Any]:
    """A request stream whose undecodable items are refused (Rule 1)."""
    async for request in requests:
        if isinstance(request, Undecodable):
            await reject(context)
        yield request
