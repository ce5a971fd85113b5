"""Tracing with OpenTelemetry: off unless the standard OTEL_* environment turns it on.

Rule 1: off by default. Off, `span()` and `server_span()` hand back one shared
        do-nothing span and OpenTelemetry is not even imported: tracing off
        costs a function call and a flag test per span.
Rule 2: on when OTEL_TRACES_EXPORTER names an exporter (`otlp`: OTLP over
        HTTP, needs the [tracing] extra; `console`) and OTEL_SDK_DISABLED is not
        true; the SDK reads the rest (OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME,
        OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER ...) as it always does.
        (The SDK's own default exporter is otlp; Rollcall's is none, so a
        process never sends anything nobody asked for.)
Rule 3: the context travels as W3C `traceparent` (and `tracestate`): taken
        from a REST request's headers and a gRPC call's metadata, given to
        the gRPC calls of the standalone gateway, the carrier's API and
        tenants' status callbacks (`inject`).
Rule 4: Rollcall's tracer provider is its own (`use`), never OpenTelemetry's
        global one, so tests swap exporters freely and nothing else in the
        process picks it up by accident.
Rule 5: span names are methods and route templates; attributes are SIDs, status
        codes and sizes, never a credential.

The spans are made here, with the API, rather than by the opentelemetry
instrumentation packages for grpc and aiohttp: those register on the global
provider (against Rule 4), the gRPC one never sees a REST request (the
in-process gateway calls the service without gRPC), and their current
releases could not be installed together (pinned to different
opentelemetry-instrumentation betas).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Literal

Kind = Literal["server", "client", "internal"]

TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


class _NoSpan:
    """What a span is while tracing is off: every call does nothing."""

    __slots__ = ()

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def update_name(self, name: str) -> None:
        pass

    def fail(self, description: str) -> None:
        pass

    def end(self) -> None:
        pass

    @property
    def trace_id(self) -> str | None:
        return None


class _Span:
    """An OpenTelemetry span, with the few calls Rollcall makes on one."""

    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set_attribute(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, value)

    def update_name(self, name: str) -> None:
        self._span.update_name(name)

    def fail(self, description: str) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_status(Status(StatusCode.ERROR, description))

    def end(self) -> None:
        self._span.end()

    @property
    def trace_id(self) -> str | None:
        context = self._span.get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else None


Span = _NoSpan | _Span
NO_SPAN = _NoSpan()


class _NoSpanContext:
    """A reusable context manager that yields NO_SPAN."""

    __slots__ = ()

    def __enter__(self) -> Span:
        return NO_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


_OFF = _NoSpanContext()
_tracer: Any = None
_provider: Any = None


def enabled() -> bool:
    return _tracer is not None


def use(provider: Any) -> None:
    """Trace through `provider` (an SDK TracerProvider), or stop tracing (None)."""
    global _tracer, _provider
    _provider = provider
    _tracer = None if provider is None else provider.get_tracer("rollcall")


def configure(environ: Mapping[str, str] = os.environ) -> bool:
    """Rule 2: start tracing if the environment asks for it; True if it does."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip() and name.strip().lower() != "none"
    ]
    if not names:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as exc:
        raise ValueError(
            "OTEL_TRACES_EXPORTER is set but OpenTelemetry is not installed:"
            " install rollcall-conferences[tracing]"
        ) from exc
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or "rollcall"})
    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "console":
            exporter: Any = ConsoleSpanExporter()
        elif name == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError as exc:
                raise ValueError(
                    "OTEL_TRACES_EXPORTER=otlp needs rollcall-conferences[tracing]"
                ) from exc
            exporter = OTLPSpanExporter()
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console)")
        provider.add_span_processor(BatchSpanProcessor(exporter))
    use(provider)
    return True


def shutdown() -> None:
    """Send what is buffered and stop tracing."""
    provider = _provider
    use(None)
    if provider is not None:
        provider.shutdown()


def _kind(kind: Kind) -> Any:
    from opentelemetry.trace import SpanKind

    return {"server": SpanKind.SERVER, "client": SpanKind.CLIENT}.get(kind, SpanKind.INTERNAL)


def span(
    name: str,
    kind: Kind = "internal",
    attributes: Mapping[str, Any] | None = None,
    parent: Any = None,
) -> contextlib.AbstractContextManager[Span]:
    """A span, current inside the `with`: child of `parent` (a `capture()`),
    else of the current span."""
    if _tracer is None:
        return _OFF
    return _current(name, kind, attributes, parent)


def capture() -> Any:
    """The current trace context, for work that continues it later in another
    task (`span(parent=...)`); None while tracing is off."""
    if _tracer is None:
        return None
    from opentelemetry.context import get_current

    return get_current()


def server_span(
    name: str,
    carrier: Mapping[str, str] | None,
    attributes: Mapping[str, Any] | None = None,
) -> contextlib.AbstractContextManager[Span]:
    """A SERVER span continuing the trace `carrier`'s traceparent names (if any)."""
    if _tracer is None:
        return _OFF
    from opentelemetry.propagate import extract

    return _current(name, "server", attributes, extract(carrier or {}))


def start_server_span(
    name: str,
    carrier: Mapping[str, str] | None,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """A SERVER span that is not made current, for a stream (its handler
    yields, so a current context could not be restored in order); `end()` it."""
    if _tracer is None:
        return NO_SPAN
    from opentelemetry.propagate import extract

    return _Span(
        _tracer.start_span(
            name, context=extract(carrier or {}), kind=_kind("server"), attributes=attributes
        )
    )


@contextlib.contextmanager
def _current(
    name: str, kind: Kind, attributes: Mapping[str, Any] | None, parent: Any
) -> Iterator[Span]:
    with _tracer.start_as_current_span(
        name, context=parent, kind=_kind(kind), attributes=attributes
    ) as otel_span:
        yield _Span(otel_span)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's traceparent (and tracestate) to `headers`."""
    if _tracer is None:
        return
    from opentelemetry.propagate import inject as otel_inject

    otel_inject(headers)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id a traceparent header names (for logs while tracing is off)."""
    if not traceparent:
        return None
    found = _TRACEPARENT.match(traceparent.strip())
    return found.group(1) if found else None
