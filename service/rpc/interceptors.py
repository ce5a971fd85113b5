"""One structured log line per RPC (method, status, reason, duration, peer), and its metrics.

Rule 1: credentials never reach the log; only the method, the outcome and
timing do, and every line is scrubbed (service.redact).
Rule 2: every finished RPC is counted once, by method and status code
(service.rpc.metrics).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service import redact
from service.rpc import metrics

log = logging.getLogger("rollcall.rpc")

# The error reason of the RPC being handled, for its log line.
_reason: contextvars.ContextVar[list[str]] = contextvars.ContextVar("rollcall_reason")


def note_reason(reason: str, code: str = "UNKNOWN") -> None:
    """Record the failing RPC's reason and status code name for its log line."""
    holder = _reason.get(None)
    if holder is not None:
        holder.extend((reason, code))


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object per line, with any `extra` fields."""

    _STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD:
                data[key] = value
        if record.exc_text:
            data["exc"] = record.exc_text
        elif record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        # `extra` fields bypass the record factory's scrubbing: scrub every value
        # (before encoding, so JSON escapes stay intact).
        return json.dumps(_scrubbed(data))


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return redact.scrub(value)
    if isinstance(value, dict):
        return {str(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_scrubbed(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact.scrub(str(value))


class _Finished:
    """One RPC's outcome: counted, timed and logged once when it ends."""

    def __init__(self, method: str, peer: str) -> None:
        self.method = method
        self.peer = peer
        self.start = time.perf_counter()
        self.code = "OK"
        self.sent: int | None = None
        self.reasons: list[str] = []
        _reason.set(self.reasons)

    def record(self) -> None:
        elapsed = time.perf_counter() - self.start
        metrics.RPCS.labels(self.method, self.code).inc()
        metrics.RPC_SECONDS.labels(self.method).observe(elapsed)
        extra: dict[str, Any] = {
            "method": self.method,
            "code": self.code,
            "reason": self.reasons[0] if self.reasons else None,
            "ms": round(elapsed * 1000, 3),
            "peer": self.peer,
        }
        if self.sent is not None:
            extra["sent"] = self.sent
        log.info("rpc", extra=extra)


class RpcLogInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_stream is not None:
            # Only generator-style handlers can be wrapped item by item; the
            # others (grpc's own health Watch writes via context) pass through.
            if inspect.isasyncgenfunction(handler.unary_stream):
                return self._stream(method, handler)
            return handler
        if handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def logged(request: Any, context: Any) -> Any:
            done = _Finished(method, context.peer())
            try:
                return await inner(request, context)
            except BaseException:
                code_obj = context.code()
                done.code = code_obj.name if code_obj is not None else "UNKNOWN"
                raise
            finally:
                done.record()

        return grpc.unary_unary_rpc_method_handler(
            logged,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _stream(self, method: str, handler: Any) -> Any:
        inner = handler.unary_stream

        async def logged(request: Any, context: Any) -> AsyncIterator[Any]:
            done = _Finished(method, context.peer())
            done.sent = 0
            try:
                async for item in inner(request, context):
                    done.sent += 1
                    yield item
            except (asyncio.CancelledError, GeneratorExit):
                done.code = "CANCELLED"
                raise
            except BaseException:
                # The stream was aborted with a status (abort raises); the
                # reason was noted. The context must not be touched here: a
                # finished stream's context may already be gone.
                done.code = done.reasons[1] if done.reasons else "UNKNOWN"
                raise
            finally:
                done.record()

        return grpc.unary_stream_rpc_method_handler(
            logged,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
