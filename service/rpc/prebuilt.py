"""Responses that are already bytes go on the wire as they are.

Rule 1: only the methods named in PASS_THROUGH (WatchConference, WatchAccount,
        FetchParticipant, ListParticipants) get a response serializer passing `bytes` through
        untouched (anything else is serialized as usual); every other handler is
        returned as it came.
Rule 2: bytes handed to it are exactly what the message's own SerializeToString
        gives (an event serialized once for every watcher, answers joined from
        rpc.proto_cache's bytes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

_SERVICE = "/rollcall.v1.ParticipantService/"
PASS_THROUGH = frozenset(
    _SERVICE + method
    for method in ("WatchConference", "WatchAccount", "FetchParticipant", "ListParticipants")
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
