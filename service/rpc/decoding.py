"""Request bytes that do not decode get a typed INVALID_ARGUMENT, not a traceback.

Rule 1: every async handler this interceptor passes on decodes with a deserializer
        that never raises: bytes that do not parse become an `Undecodable`, which
        is answered INVALID_ARGUMENT (reason MALFORMED_REQUEST) before any service
        code runs (grpcio alone would answer UNKNOWN naming Python classes, and log
        a traceback).
Rule 2: it sits inside RpcLogInterceptor, so that answer is logged and counted
        like any other.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service.core import errors
from service.rpc.interceptors import Wrapped, note_reason
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


async def _reject(context: grpc.aio.ServicerContext) -> None:
    error = errors.malformed_request()
    note_reason(error.reason, error.code.value)
    await context.abort_with_status(to_grpc_status(error))


def _unary_unary(inner: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            await _reject(context)
        return await inner(request, context)

    return handle


def _unary_stream(inner: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(inner):

        async def generate(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                await _reject(context)
            async for item in inner(request, context):
                yield item

        return generate

    async def write(request: Any, context: grpc.aio.ServicerContext) -> Any:
        # A handler that writes through its context (grpc's health Watch).
        if isinstance(request, Undecodable):
            await _reject(context)
        return await inner(request, context)

    return write


def _requests(inner: Callable[..., Any]) -> Callable[..., Any]:
    """A streaming-request handler whose request iterator rejects undecodable items."""

    async def checked(
        requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        async for request in requests:
            if isinstance(request, Undecodable):
                await _reject(context)
            yield request

    if inspect.isasyncgenfunction(inner):

        async def generate(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for item in inner(checked(requests, context), context):
                yield item

        return generate

    async def call(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        return await inner(checked(requests, context), context)

    return call


class DecodingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self) -> None:
        self._wrapped = Wrapped()

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return self._wrapped.get(handler, _decoding)


def _decoding(handler: Any) -> Any:
    """`handler` decoding tolerantly (an undecodable request is refused)."""
    behaviour = (
        handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream
    )
    if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
        return handler  # a synchronous handler is left to grpc as it is
    decode = tolerant(handler.request_deserializer)
    out = handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_unary_unary(handler.unary_unary), decode, out)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _unary_stream(handler.unary_stream), decode, out
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_requests(handler.stream_unary), decode, out)
    return grpc.stream_stream_rpc_method_handler(_requests(handler.stream_stream), decode, out)
