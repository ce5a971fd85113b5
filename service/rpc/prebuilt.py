"""Responses that are already bytes go on the wire as they are.

What it owns: an interceptor that gives WatchConference a response
serializer passing `bytes` through untouched (anything else is serialized as
usual), so an event serialized once when it is published is shared by every
stream that sends it instead of being serialized again per watcher.

The rule it keeps: the bytes on the wire are exactly what the message's own
SerializeToString gives; only the streaming methods named in PASS_THROUGH
accept prebuilt bytes; every other handler is returned as it came.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

PASS_THROUGH = frozenset({"/rollcall.v1.ParticipantService/WatchConference"})


def passing_bytes(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes]:
    def serializer(message: Any) -> bytes:
        if isinstance(message, bytes):
            return message
        assert serialize is not None
        return serialize(message)

    return serializer


class PrebuiltResponses(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if (
            handler is None
            or handler_call_details.method not in PASS_THROUGH
            or handler.unary_stream is None
        ):
            return handler
        return grpc.unary_stream_rpc_method_handler(
            handler.unary_stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=passing_bytes(handler.response_serializer),
        )
