"""Responses that are already bytes go on the wire as they are.

What it owns: an interceptor that gives the methods in PASS_THROUGH a
response serializer passing `bytes` through untouched (anything else is
serialized as usual): WatchConference, so an event serialized once when it is
published is shared by every stream that sends it instead of being
serialized again per watcher; Fetch and List, whose answers are joined from
participants' cached bytes instead of built as messages and serialized.

The rule it keeps: the bytes on the wire are exactly what the message's own
SerializeToString gives; only the methods named in PASS_THROUGH accept
prebuilt bytes; every other handler is returned as it came.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

_SERVICE = "/rollcall.v1.ParticipantService/"
PASS_THROUGH = frozenset(
    _SERVICE + method for method in ("WatchConference", "FetchParticipant", "ListParticipants")
)


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
        if handler is None or handler_call_details.method not in PASS_THROUGH:
            return handler
        serializer = passing_bytes(handler.response_serializer)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                handler.unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                handler.unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=serializer,
            )
        return handler
