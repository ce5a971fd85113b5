"""Tracing end to end: a REST Create's span tree, from the caller's traceparent
through the store and the carrier; then the carrier's report of the call's
progress, through the store to the tenant's status callback.

A real server (the Twilio carrier adapter in front of tests.fakes.carrier, a
real store, a callback receiver) traces into an in-memory exporter; the
standalone gateway carries the trace into gRPC. Tracing is switched on for
these tests only (service.tracing.use), as OTEL_TRACES_EXPORTER would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from service import tracing
from service.gateway.standalone import serve_gateway
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic, make_settings, serving
from tests.fakes.carrier import running
from tests.fakes.receiver import Receiver
from tests.poll import eventually

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{CALLER_SPAN}-01"
UPSTREAM = "AC" + "9" * 32
UPSTREAM_TOKEN = "fake-carrier-token-" + "7" * 13
FORM = {"From": "+15005550006", "To": "+15551234567"}
PARTICIPANTS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def parent_of(span: ReadableSpan) -> str | None:
    return None if span.parent is None else f"{span.parent.span_id:016x}"


def traceparent_span(header: str, trace: str = TRACE) -> str:
    _version, named_trace, span, _flags = header.split("-")
    assert named_trace == trace
    return span


def named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


async def test_a_rest_create_is_one_trace_through_store_carrier_and_callback(
    tmp_path: Path, spans: InMemorySpanExporter, receiver: Receiver
) -> None:
    async with running({UPSTREAM: UPSTREAM_TOKEN}) as carrier:
        settings = make_settings(
            tmp_path,
            carrier="twilio",
            twilio_base_url=carrier.base_url,
            twilio_accounts=f"{ACCOUNT_SID}={UPSTREAM}:{UPSTREAM_TOKEN}",
            twilio_calls_per_second=0.0,
        )
        async with serving(settings) as h, aiohttp.ClientSession() as session:
            url = f"{h.http_base}{PARTICIPANTS}"
            form = {
                **FORM,
                "StatusCallback": receiver.url("/call"),
                "StatusCallbackEvent": "initiated",
            }
            headers = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN), "traceparent": TRACEPARENT}
            async with session.post(url, data=form, headers=headers) as answer:
                assert answer.status == 201
            # The carrier reports the call initiated (and ringing) to Rollcall's
            # ingest route; that report owes the tenant its callback.
            await carrier.let_time_pass(0)
            hits = await receiver.wait_delivered(1, "/call")
            await eventually(
                lambda: bool(named(spans, "status callback")), "the callback's span ended"
            )

    [rest] = [s for s in named(spans, "POST /2010-04-01/") if s.kind is SpanKind.SERVER]
    assert rest.name == (
        "POST /2010-04-01/Accounts/{account}/Conferences/{conference}/Participants{suffix}"
    )
    assert rest.context is not None and f"{rest.context.trace_id:032x}" == TRACE
    assert parent_of(rest) == CALLER_SPAN
    assert rest.attributes is not None and rest.attributes["http.response.status_code"] == 201
    everything = spans.get_finished_spans()

    # The store's transactions, under the request.
    writes = [s for s in named(spans, "store write") if parent_of(s) == hex_span(rest)]
    assert writes
    # The carrier's request, under the request, its traceparent naming it.
    [placed] = [s for s in named(spans, "carrier POST") if parent_of(s) == hex_span(rest)]
    assert placed.kind is SpanKind.CLIENT
    [dialed] = carrier.placed()
    assert traceparent_span(dialed.headers["traceparent"]) == hex_span(placed)
    # The tenant's status callback continues the trace of the commit that owed
    # it (the carrier's report, a request of its own), its traceparent naming it.
    delivery = named(spans, "status callback")[0]
    assert delivery.kind is SpanKind.CLIENT and delivery.context is not None
    reports = [
        s
        for s in everything
        if s.kind is SpanKind.SERVER
        and s.attributes
        and s.attributes["http.route"] != rest.name[5:]
    ]
    assert hex_span(reports[0]) in _ancestors(delivery, everything)
    assert any(s.name == "store write" and parent_of(s) == hex_span(reports[0]) for s in everything)
    trace = f"{delivery.context.trace_id:032x}"
    assert traceparent_span(hits[0].headers["traceparent"], trace) == hex_span(delivery)
    # No credential among the attributes.
    for span in everything:
        assert AUTH_TOKEN not in str(dict(span.attributes or {}))
        assert UPSTREAM_TOKEN not in str(dict(span.attributes or {}))


def _ancestors(span: ReadableSpan, everything: Any) -> set[str]:
    by_id = {hex_span(s): s for s in everything}
    found: set[str] = set()
    parent = parent_of(span)
    while parent is not None:
        found.add(parent)
        above = by_id.get(parent)
        parent = parent_of(above) if above is not None else None
    return found


@contextlib.asynccontextmanager
async def standalone(target: str) -> AsyncIterator[int]:
    stop = asyncio.Event()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_gateway(target, "127.0.0.1:0", stop, lambda g: ready.set_result(g.port))
    )
    try:
        yield await asyncio.wait_for(ready, 10)
    finally:
        stop.set()
        await task


async def test_the_standalone_gateway_carries_the_trace_into_grpc(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with (
        serving(make_settings(tmp_path, http_listen="")) as h,
        standalone(h.grpc_target) as port,
        aiohttp.ClientSession() as session,
    ):
        url = f"http://127.0.0.1:{port}{PARTICIPANTS}"
        headers = {
            "Authorization": basic(ACCOUNT_SID, AUTH_TOKEN),
            "traceparent": TRACEPARENT,
            "Idempotency-Key": "via-gateway",
        }
        async with session.post(url, data=FORM, headers=headers) as answer:
            assert answer.status == 201
    [rest] = [s for s in named(spans, "POST /2010-04-01/") if s.kind is SpanKind.SERVER]
    [rpc] = named(spans, "rollcall.v1.ParticipantService/CreateParticipant")
    assert rpc.kind is SpanKind.SERVER
    assert parent_of(rest) == CALLER_SPAN
    assert parent_of(rpc) == hex_span(rest)
    assert rpc.context is not None and f"{rpc.context.trace_id:032x}" == TRACE
    # The store's write runs under the RPC on the server's side.
    assert any(parent_of(s) == hex_span(rpc) for s in named(spans, "store write"))


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "gateway"])
def test_an_exporter_it_does_not_know_stops_the_start_in_one_line(
    tmp_path: Path, command: str
) -> None:
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "zipkin",
        "ROLLCALL_GRPC_LISTEN": "127.0.0.1:0",
        "ROLLCALL_HTTP_LISTEN": "",
        "ROLLCALL_METRICS_LISTEN": "",
        "ROLLCALL_DATABASE": str(tmp_path / "otel.sqlite3"),
    }
    argv = [sys.executable, "-c", "from clients.cli import main; raise SystemExit(main())"]
    argv += ["serve"] if command == "serve" else ["gateway", "--target", "127.0.0.1:1"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "cannot start" in line and "unknown exporter 'zipkin'" in line
