"""What every RPC passes before its servicer, in one wrapper per method handler.

Rule 1: the gRPC server has no interceptor: grpc.aio runs an interceptor chain
        as coroutines on every call, so instead each method handler is wrapped
        once, as its service is registered (`Front.registrar`: every service,
        ours and grpc's health and reflection alike).
Rule 2: a wrapped call goes, in this order: a queue probe is answered at once
        (service.rpc.queue_probe); the door refuses it when the server stops
        (service.rpc.door); a unary call is probed, then counted and logged
        (service.rpc.interceptors) around the door's wait bound and tracking,
        and an undecodable request is refused (service.rpc.decoding); then the
        servicer. What each step does is its module's; this one only orders them.
Rule 3: streams are logged only when their behaviour is an async generator, and
        a refused stream is not logged (as before the fold); a synchronous
        handler is registered as it is.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import grpc

from service import tracing
from service.rpc.decoding import Undecodable, checked, reject, tolerant
from service.rpc.door import Door
from service.rpc.interceptors import Finished, Wrapped
from service.rpc.queue_probe import HEALTH, QueueProbe


class _Probe:
    """A probe's answer: sent as no bytes, whatever the method's answer type."""


PROBE = _Probe()


def _code(context: Any) -> str:
    code = context.code()
    return code.name if code is not None else "UNKNOWN"


class Front:
    def __init__(self, door: Door, probe: QueueProbe | None = None) -> None:
        self.door = door
        self.probe = probe
        self._wrapped = Wrapped()

    def registrar(self, server: grpc.aio.Server) -> Registrar:
        """Where services are registered on `server` with their handlers wrapped (Rule 1)."""
        return Registrar(self, server)

    def wrap(self, method: str, handler: Any) -> Any:
        """`handler` of the full method name `method`, wrapped (Rule 2)."""
        behaviour = (
            handler.unary_unary
            or handler.unary_stream
            or handler.stream_unary
            or handler.stream_stream
        )
        if not (inspect.iscoroutinefunction(behaviour) or inspect.isasyncgenfunction(behaviour)):
            return handler  # Rule 3
        decode = tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            out = handler.response_serializer
            if self.probe is not None:
                out = _answers_probes(out)
            return grpc.unary_unary_rpc_method_handler(self._unary(method, behaviour), decode, out)
        make = {
            (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler,
        }[(bool(handler.request_streaming), bool(handler.response_streaming))]
        if inspect.isasyncgenfunction(behaviour):
            wrapped = self._generator(method, behaviour, bool(handler.request_streaming))
        else:
            wrapped = self._stream_call(method, behaviour, bool(handler.request_streaming))
        return make(wrapped, decode, handler.response_serializer)

    def _unary(self, method: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        door, probe = self.door, self.probe
        probed = probe is not None and not method.startswith(HEALTH)

        async def unary(request: Any, context: Any) -> Any:
            if probe is not None and probe.came_out(method, context):
                return PROBE
            if probed:
                probe.maybe_send(method)  # type: ignore[union-attr]
            done = Finished(method, context, request, stream=False)
            if not tracing.enabled():
                try:
                    return await admitted(request, context)
                except BaseException:
                    done.code = _code(context)
                    raise
                finally:
                    done.record(tracing.NO_SPAN)
            with tracing.server_span(method.lstrip("/"), done.carrier, done.attributes()) as span:
                try:
                    return await admitted(request, context)
                except BaseException:
                    done.code = _code(context)
                    raise
                finally:
                    done.record(span)

        async def admitted(request: Any, context: Any) -> Any:
            """Inside the log line: the door, then decoding, then the servicer."""
            if door.refuses(method):
                await door.refuse(context)
            waited = door.overdue(method)
            if waited is not None:
                await door.shed(context, waited)
            task = door.enter(unary=True)
            try:
                if type(request) is Undecodable:
                    await reject(context)
                return await inner(request, context)
            except asyncio.CancelledError:
                await door.interrupted(task, context)
                raise
            finally:
                door.leave(task)

        return unary

    def _generator(
        self, method: str, inner: Callable[..., AsyncIterator[Any]], streaming_requests: bool
    ) -> Callable[..., AsyncIterator[Any]]:
        door = self.door

        async def generator(request: Any, context: Any) -> AsyncIterator[Any]:
            if door.refuses(method):
                await door.refuse(context)
                return
            done = Finished(method, context, request, stream=True)
            span = (
                tracing.start_server_span(method.lstrip("/"), done.carrier, done.attributes())
                if tracing.enabled()
                else tracing.NO_SPAN
            )
            sent = 0
            counted = done.series.sent
            try:
                task = door.enter(unary=False)
                try:
                    if streaming_requests:
                        request = checked(request, context)
                    elif type(request) is Undecodable:
                        await reject(context)
                    async for item in inner(request, context):
                        sent += 1
                        done.sent = sent
                        # As it goes, so a long watch's rate shows while it lasts.
                        counted.inc()
                        yield item
                except asyncio.CancelledError:
                    await door.interrupted(task, context)
                    raise
                finally:
                    door.leave(task)
            except (asyncio.CancelledError, GeneratorExit):
                done.code = "CANCELLED"
                raise
            except BaseException:
                # Aborted with a status (abort raises); its reason was noted. The
                # context must not be touched: a finished stream's may be gone.
                done.code = done.reasons[1] if done.reasons else "UNKNOWN"
                raise
            finally:
                done.record(span)
                span.end()

        return generator

    def _stream_call(
        self, method: str, inner: Callable[..., Any], streaming_requests: bool
    ) -> Callable[..., Any]:
        """A streaming handler that writes through its context (grpc's health
        Watch): the door and decoding only (Rule 3)."""
        door = self.door

        async def call(request: Any, context: Any) -> Any:
            if door.refuses(method):
                await door.refuse(context)
            task = door.enter(unary=False)
            try:
                if streaming_requests:
                    request = checked(request, context)
                elif type(request) is Undecodable:
                    await reject(context)
                return await inner(request, context)
            except asyncio.CancelledError:
                await door.interrupted(task, context)
                raise
            finally:
                door.leave(task)

        return call

    def generic(self, handler: grpc.GenericRpcHandler) -> grpc.GenericRpcHandler:
        return _Generic(self, handler)


def _answers_probes(out: Callable[[Any], bytes] | None) -> Callable[[Any], bytes]:
    if out is None:

        def raw(answer: Any) -> bytes:
            return b"" if answer is PROBE else answer

        return raw

    def serialize(answer: Any) -> bytes:
        return b"" if answer is PROBE else out(answer)

    return serialize


class _Generic(grpc.GenericRpcHandler):  # type: ignore[misc]
    """A generic handler whose method handlers are wrapped, each once."""

    def __init__(self, front: Front, inner: grpc.GenericRpcHandler) -> None:
        self._front = front
        self._inner = inner

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        return self._front._wrapped.get(handler, lambda h: self._front.wrap(method, h))


class Registrar:
    """Stands for the server where generated code registers a service
    (`add_*_to_server(servicer, registrar)`, health and reflection
    included), registering it on the server with its handlers wrapped."""

    def __init__(self, front: Front, server: grpc.aio.Server) -> None:
        self._front = front
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(self._front.generic(h) for h in handlers))

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self._server.add_registered_method_handlers(
            service,
            {
                name: self._front.wrap(f"/{service}/{name}", handler)
                for name, handler in handlers.items()
            },
        )
