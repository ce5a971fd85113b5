"""One structured log line per RPC (method, status, reason, duration, peer), and its metrics.

(service.rpc.front makes a Finished for every call it lets in.)

Rule 1: credentials never reach the log; only the method, the outcome and
timing do, and every line is scrubbed (service.redact).
Rule 2: every finished RPC is counted once, by method and status code
(service.rpc.metrics).
Rule 3: a method's handler is wrapped once, not per call (Wrapped): a generic
handler hands out the same handler for a method on every call.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Callable
from typing import Any

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


# Metric children by label values: labels() looks them up under a lock per call.
_counted: dict[tuple[str, str], Any] = {}
_timed: dict[str, Any] = {}


def _count(method: str, code: str, elapsed: float) -> None:
    counter = _counted.get((method, code))
    if counter is None:
        counter = _counted[(method, code)] = metrics.RPCS.labels(method, code)
    counter.inc()
    timer = _timed.get(method)
    if timer is None:
        timer = _timed[method] = metrics.RPC_SECONDS.labels(method)
    timer.observe(elapsed)


class Finished:
    """One RPC's outcome: counted, timed and logged once when it ends."""

    def __init__(self, method: str, context: Any) -> None:
        self.method = method
        # Only the log line needs it (and a finished stream's context may be gone).
        self.peer = context.peer() if log.isEnabledFor(logging.INFO) else ""
        self.start = time.perf_counter()
        self.code = "OK"
        self.sent: int | None = None
        self.reasons: list[str] = []
        _reason.set(self.reasons)

    def record(self) -> None:
        elapsed = time.perf_counter() - self.start
        _count(self.method, self.code, elapsed)
        if not log.isEnabledFor(logging.INFO):
            return
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
