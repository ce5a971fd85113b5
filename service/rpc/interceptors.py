"""One structured log line per RPC, its metrics and its span.

Rule 1: credentials never reach the log; the line holds the method, the outcome,
        the duration, the peer, the account SID and resource the request names,
        the request id (the request's `request_id`, else `x-request-id`
        metadata, else a generated one) and the trace id; every line is
        scrubbed (service.redact).
Rule 2: every RPC is counted when it starts and once when it ends, by method
        and status code, and timed in the unary or the stream histogram
        (service.rpc.metrics).
Rule 3: every RPC is a SERVER span continuing the caller's `traceparent`
        (service.tracing; nothing when tracing is off).
Rule 4: log times are RFC 3339 in UTC, to the millisecond.
Rule 5: a method's handler is wrapped once, not per call (Wrapped), by
        service.rpc.front, which makes a Finished for every call it lets in
        and runs its span.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from service import redact, tracing
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
            "time": rfc3339(record.created),
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


def rfc3339(seconds: float) -> str:
    """`seconds` since the epoch as RFC 3339 UTC, e.g. 2026-12-07T11:20:00.123Z."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_request_id() -> str:
    return os.urandom(8).hex()


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


class Wrapped:
    """Handlers wrapped once per inner handler (Rule 3). Keys are the handlers
    themselves (held, so never confused with a later one); bounded, since a
    handler made per call (a refusal) is never seen again."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._wrapped: dict[Any, Any] = {}

    def get(self, handler: Any, wrap: Callable[[Any], Any]) -> Any:
        found = self._wrapped.get(handler)
        if found is None:
            found = wrap(handler)
            if len(self._wrapped) >= self.limit:
                self._wrapped.clear()
            self._wrapped[handler] = found
        return found


def _resource(request: Any) -> str:
    """The resource name a request addresses (its `name`, else its `parent`)."""
    return str(getattr(request, "name", "") or getattr(request, "parent", "") or "")


class _Series:
    """One method's metric children, looked up once (labels() takes a lock)."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.started = metrics.STARTED.labels(method)
        self.seconds = metrics.RPC_SECONDS.labels(method)
        self.stream_seconds = metrics.STREAM_SECONDS.labels(method)
        self.sent = metrics.STREAM_SENT.labels(method)
        self._codes: dict[str, Any] = {}

    def finished(self, code: str) -> Any:
        child = self._codes.get(code)
        if child is None:
            child = self._codes[code] = metrics.RPCS.labels(self.method, code)
        return child


_SERIES: dict[str, _Series] = {}
_CARRIED = ("traceparent", "tracestate", "x-request-id")
# A caller's request id is logged up to this many characters.
_REQUEST_ID_LIMIT = 128


def _series(method: str) -> _Series:
    found = _SERIES.get(method)
    if found is None:
        found = _SERIES[method] = _Series(method)
    return found


class Finished:
    """One RPC's outcome: counted, timed, traced and logged once when it ends.
    What only the log line and the span need is read only when they are on."""

    def __init__(self, method: str, context: Any, request: Any, *, stream: bool) -> None:
        self.series = _series(method)
        self.method = method
        self.context = context
        self.request = request
        self.stream = stream
        self.start = time.perf_counter()
        self.code = "OK"
        self.sent: int | None = 0 if stream else None
        self.reasons: list[str] = []
        _reason.set(self.reasons)
        self.series.started.inc()
        # Only the log line needs it (and a finished stream's context may be gone).
        self.peer = context.peer() if log.isEnabledFor(logging.INFO) else ""
        self._carrier: dict[str, str] | None = None
        if stream:
            # A finished stream's context may be gone by the time it is logged.
            self._carrier = self.carrier

    @property
    def carrier(self) -> dict[str, str]:
        """The trace context and request id the caller sent as metadata."""
        if self._carrier is None:
            self._carrier = {
                key: value
                for key, value in self.context.invocation_metadata() or ()
                if key in _CARRIED
            }
        return self._carrier

    def attributes(self) -> dict[str, Any]:
        service, _, name = self.method.strip("/").partition("/")
        attributes: dict[str, Any] = {
            "rpc.system": "grpc",
            "rpc.service": service,
            "rpc.method": name,
        }
        resource = _resource(self.request)
        if resource:
            attributes["rollcall.resource"] = resource
        return attributes

    def record(self, span: tracing.Span) -> None:
        elapsed = time.perf_counter() - self.start
        series = self.series
        series.finished(self.code).inc()
        if self.stream:
            series.stream_seconds.observe(elapsed)
        else:
            series.seconds.observe(elapsed)
        if span is not tracing.NO_SPAN:
            span.set_attribute("rpc.grpc.status_code", self.code)
            if self.code != "OK":
                span.fail(self.code)
        if log.isEnabledFor(logging.INFO):
            self._log(elapsed, span)

    def _log(self, elapsed: float, span: tracing.Span) -> None:
        request, carrier = self.request, self.carrier
        resource = _resource(request)
        parts = resource.split("/", 2)
        extra: dict[str, Any] = {
            "method": self.method,
            "code": self.code,
            "reason": self.reasons[0] if self.reasons else None,
            "ms": round(elapsed * 1000, 3),
            "peer": self.peer,
            "account_sid": parts[1] if len(parts) > 1 and parts[0] == "accounts" else None,
            "resource": resource or None,
            "request_id": (
                str(getattr(request, "request_id", "") or "") or carrier.get("x-request-id", "")
            )[:_REQUEST_ID_LIMIT]
            or new_request_id(),
            "trace_id": span.trace_id or tracing.trace_id_of(carrier.get("traceparent")),
        }
        if self.sent is not None:
            extra["sent"] = self.sent
        log.info("rpc", extra=extra)
