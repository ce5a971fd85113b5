"""service.tracing: off unless the OTEL_* environment asks, and nothing at all while off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service import tracing


@pytest.fixture(autouse=True)
def off_afterwards() -> Iterator[None]:
    yield
    tracing.shutdown()


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": ""},
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"},
        # Endpoint settings alone turn nothing on: the exporter must be named.
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
    ],
)
def test_off_unless_an_exporter_is_named(environ: dict[str, str]) -> None:
    assert tracing.configure(environ) is False
    assert not tracing.enabled()
    with tracing.span("x") as span:
        assert span is tracing.NO_SPAN
    assert (
        tracing.start_server_span("x", {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
        is tracing.NO_SPAN
    )
    headers: dict[str, str] = {}
    tracing.inject(headers)
    assert headers == {}
    assert tracing.capture() is None


@pytest.mark.parametrize("exporter", ["console", "otlp", "console,otlp"])
def test_on_with_a_named_exporter(exporter: str) -> None:
    assert tracing.configure({"OTEL_TRACES_EXPORTER": exporter}) is True
    assert tracing.enabled()


def test_an_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown exporter 'zipkin'"):
        tracing.configure({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.enabled()


def test_a_span_continues_the_callers_trace_and_hands_it_on() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    caller = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    with tracing.server_span("GET", {"traceparent": caller}) as server:
        assert server.trace_id == "a" * 32
        with tracing.span("inner", "client") as inner:
            headers: dict[str, str] = {}
            tracing.inject(headers)
            inner.fail("boom")
        origin = tracing.capture()
    with tracing.span("later", parent=origin):
        pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"GET", "inner", "later"}
    inner_span = spans["inner"]
    assert inner_span.context is not None
    assert headers["traceparent"] == f"00-{'a' * 32}-{inner_span.context.span_id:016x}-01"
    assert not inner_span.status.is_ok
    assert spans["later"].parent is not None
    assert spans["later"].parent.span_id == spans["GET"].context.span_id


def test_trace_id_of_reads_a_traceparent_and_nothing_else() -> None:
    assert tracing.trace_id_of("00-" + "c" * 32 + "-" + "d" * 16 + "-01") == "c" * 32
    assert tracing.trace_id_of("garbage") is None
    assert tracing.trace_id_of(None) is None
