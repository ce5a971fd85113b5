"""Operating the service: health, reflection, graceful stop, one log line per RPC."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import App
from service.clock import ManualClock
from service.gateway.status import from_rpc_error
from service.rpc.interceptors import JsonFormatter
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, make_settings
from tests.e2e.helpers import create

SERVICE = "rollcall.v1.ParticipantService"


async def test_health_per_service(harness: Harness) -> None:
    health = health_pb2_grpc.HealthStub(harness.channel)
    for name in ("", SERVICE):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_service(harness: Harness) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(harness.channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for reply in stub.ServerReflectionInfo(iter([request])):
        names = {s.name for s in reply.list_services_response.service}
    assert SERVICE in names
    assert "grpc.health.v1.Health" in names


async def test_reflection_v1_answers_beside_v1alpha(harness: Harness) -> None:
    """grpc.reflection.v1's messages are v1alpha's, number for number: the same
    bytes go both ways (service.rpc.reflection)."""
    info = harness.channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
    ]
    replies = [reply async for reply in info(iter(requests))]
    names = {s.name for s in replies[0].list_services_response.service}
    assert {SERVICE, "grpc.reflection.v1.ServerReflection"} <= names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    files = replies[1].file_descriptor_response.file_descriptor_proto
    described = [descriptor_pb2.FileDescriptorProto.FromString(f).name for f in files]
    assert "rollcall/v1/participant_service.proto" in described


async def test_stop_turns_health_not_serving_before_closing(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, http_listen=""), clock=ManualClock())
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    health = health_pb2_grpc.HealthStub(channel)
    stream = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
    seen = [(await stream.read()).status]
    stopping = asyncio.create_task(app.stop(grace=5))
    seen.append((await asyncio.wait_for(stream.read(), timeout=10)).status)
    stream.cancel()  # the health stream would otherwise hold the stop for its grace
    await asyncio.wait_for(stopping, timeout=10)
    await channel.close()
    assert seen == [
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    ]


async def test_one_structured_log_line_per_rpc_without_secrets(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rollcall.rpc")
    await create(harness, "room")
    bad = pb.FetchParticipantRequest(name=harness.name("room", "nobody"))
    with pytest.raises(grpc.aio.AioRpcError):
        await harness.stub.FetchParticipant(bad, metadata=harness.md())
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "rollcall.rpc"
    ]
    assert [(line["method"], line["code"]) for line in lines] == [
        (f"/{SERVICE}/CreateParticipant", "OK"),
        (f"/{SERVICE}/FetchParticipant", "NOT_FOUND"),
    ]
    assert lines[1]["reason"] == "PARTICIPANT_NOT_FOUND"
    assert all(AUTH_TOKEN not in json.dumps(line) for line in lines)


async def test_stop_ends_watch_streams_so_clients_resume_elsewhere(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, http_listen=""), clock=ManualClock())
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    stub = pb_grpc.ParticipantServiceStub(channel)
    md = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
    created = await stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=f"accounts/{ACCOUNT_SID}/conferences/room",
            from_endpoint="+15005550006",
            to_endpoint="+15551234567",
        ),
        metadata=md,
    )
    stream = stub.WatchConference(
        pb.WatchConferenceRequest(
            parent=f"accounts/{ACCOUNT_SID}/conferences/{created.participant.conference_sid}",
            # Past its dialing and ringing, committed with the Create: nothing to send.
            resume_after_revision=created.participant.revision + 2,
        ),
        metadata=md,
    )
    assert app.watch is not None
    await app.watch.wait_idle(1)
    # A long grace period: the watch must not hold the stop up for it.
    stopping = asyncio.create_task(app.stop(grace=30))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert from_rpc_error(caught.value).reason == "SHUTTING_DOWN"
    await asyncio.wait_for(stopping, timeout=10)
    await channel.close()


async def test_metrics_endpoint_counts_rpcs(harness: Harness) -> None:
    import aiohttp

    await create(harness, "room")
    url = f"http://127.0.0.1:{harness.app.metrics_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    assert (
        'rollcall_rpcs_total{code="OK",method="/rollcall.v1.ParticipantService/CreateParticipant"}'
        in text
    )
    assert "rollcall_callback_attempts_total" in text or "rollcall_callback_attempts" in text


def test_serve_that_cannot_bind_exits_1_with_the_reason(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "ROLLCALL_GRPC_LISTEN": "256.0.0.1:5",
        "ROLLCALL_HTTP_LISTEN": "",
        "ROLLCALL_METRICS_LISTEN": "",
        "ROLLCALL_DATABASE": str(tmp_path / "bind.sqlite3"),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot start" in done.stderr


def _serve_process(tmp_path: Path, **env: str) -> tuple[int, str]:
    """`rollcall serve` in a process of its own with these variables: (exit code, stderr)."""
    import os
    import subprocess
    import sys

    environment = {
        **os.environ,
        "ROLLCALL_GRPC_LISTEN": "127.0.0.1:0",
        "ROLLCALL_HTTP_LISTEN": "",
        "ROLLCALL_METRICS_LISTEN": "",
        "ROLLCALL_DATABASE": str(tmp_path / "serve.sqlite3"),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr


def test_any_failure_to_start_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    """A database path that is a directory fails in SQLite with its own
    exception type (neither OSError, ValueError nor RuntimeError)."""
    directory = tmp_path / "a-directory"
    directory.mkdir()
    code, stderr = _serve_process(tmp_path, ROLLCALL_DATABASE=str(directory))
    assert code == 1, stderr
    assert "Traceback" not in stderr
    # Log records are JSON lines; what is said to the user is the one other line.
    said = [line for line in stderr.splitlines() if not line.startswith("{")]
    assert len(said) == 1, stderr
    assert said[0].startswith("rollcall: cannot start: "), said
    assert said[0] == (
        f"rollcall: cannot start: cannot open the SQLite database {directory} (setting"
        " ROLLCALL_DATABASE or --database): unable to open database file"
    )


def test_an_unreachable_postgresql_is_one_line_naming_host_port_and_setting(
    tmp_path: Path,
) -> None:
    from tests.ports import closed_port

    port = closed_port()
    database = f"postgresql://rollcall:hunter2-secret@127.0.0.1:{port}/calls"
    code, stderr = _serve_process(tmp_path, ROLLCALL_DATABASE=database)
    assert code == 1, stderr
    said = [line for line in stderr.splitlines() if not line.startswith("{")]
    assert said == [
        f"rollcall: cannot start: PostgreSQL not reachable at 127.0.0.1:{port} (database"
        " calls, setting ROLLCALL_DATABASE or --database): [Errno 111] Connection refused"
    ]
    assert "hunter2" not in stderr
