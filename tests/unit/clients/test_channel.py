"""The client's channel defaults (clients.channel, clients.retries, the client's
deadline), against a scripted gRPC server on an ephemeral port: it answers each
call as the test scripts it and records what it got (the request, the deadline
left, the metadata), so the test sees what the client sent on the wire.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from clients import AsyncRollcallClient, RollcallClientError
from clients.channel import SERVICE_CONFIG
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

ACCOUNT = "AC" + "a" * 32


@dataclasses.dataclass
class Seen:
    method: str
    request: Any
    time_remaining: float | None


class Scripted:
    """Answers: per method, a list of failures to raise (in order) before it
    succeeds with an empty response."""

    def __init__(self) -> None:
        self.failures: dict[str, list[status_pb2.Status]] = {}
        self.seen: list[Seen] = []

    def handler(self, method: str, request_type: Any, response: Any) -> Any:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            self.seen.append(Seen(method, request, context.time_remaining()))
            pending = self.failures.get(method) or []
            if pending:
                await context.abort_with_status(rpc_status.to_status(pending.pop(0)))
            return response

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=request_type.FromString,
            response_serializer=type(response).SerializeToString,
        )

    def stream(self, method: str, request_type: Any) -> Any:
        async def watch(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            self.seen.append(Seen(method, request, context.time_remaining()))
            yield pb.WatchConferenceResponse(
                initial_state_complete=pb.InitialStateComplete(revision=0)
            )
            await asyncio.Event().wait()  # open until the client leaves

        return grpc.unary_stream_rpc_method_handler(
            watch,
            request_deserializer=request_type.FromString,
            response_serializer=pb.WatchConferenceResponse.SerializeToString,
        )


def _status(code: int, message: str, retry_ms: int | None = None) -> status_pb2.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="THROTTLED", domain="rollcall"))
    details = [info]
    if retry_ms is not None:
        retry = any_pb2.Any()
        retry.Pack(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(nanos=retry_ms * 1_000_000)
            )
        )
        details.append(retry)
    return status_pb2.Status(code=code, message=message, details=details)


UNAVAILABLE = _status(code_pb2.UNAVAILABLE, "down for a moment")
THROTTLED = _status(code_pb2.RESOURCE_EXHAUSTED, "slow down", retry_ms=1)


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[Scripted, str]]:
    script = Scripted()
    participant = participant_pb2.Participant(call_sid="CA1")
    handlers = {
        "CreateParticipant": script.handler(
            "CreateParticipant",
            pb.CreateParticipantRequest,
            pb.CreateParticipantResponse(participant=participant),
        ),
        "FetchParticipant": script.handler(
            "FetchParticipant",
            pb.FetchParticipantRequest,
            pb.FetchParticipantResponse(participant=participant),
        ),
        "UpdateParticipant": script.handler(
            "UpdateParticipant",
            pb.UpdateParticipantRequest,
            pb.UpdateParticipantResponse(participant=participant),
        ),
        "WatchConference": script.stream("WatchConference", pb.WatchConferenceRequest),
    }
    conference_handlers = {
        "ListConferences": script.handler(
            "ListConferences", cpb.ListConferencesRequest, cpb.ListConferencesResponse()
        ),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("rollcall.v1.ParticipantService", handlers),
            grpc.method_handlers_generic_handler(
                "rollcall.v1.ConferenceService", conference_handlers
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield script, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def client(target: str, **options: Any) -> AsyncRollcallClient:
    return AsyncRollcallClient(target, ACCOUNT, "token", **options)


async def test_unary_calls_have_a_default_deadline_and_streams_none(
    scripted: tuple[Scripted, str],
) -> None:
    script, target = scripted
    async with client(target) as rollcall:
        await rollcall.fetch_participant("CF1", "CA1")
        items = rollcall.watch("CF1", reconnect=False)
        assert await anext(items)
        await items.aclose()
    fetch, watch = script.seen
    assert fetch.time_remaining is not None and 0 < fetch.time_remaining <= 30
    assert watch.time_remaining is None
    async with client(target, timeout=None) as rollcall:
        await rollcall.fetch_participant("CF1", "CA1")
    assert script.seen[-1].time_remaining is None


async def test_reads_and_creates_are_retried_on_unavailable_with_one_request_id(
    scripted: tuple[Scripted, str],
) -> None:
    script, target = scripted
    script.failures = {
        "FetchParticipant": [UNAVAILABLE, UNAVAILABLE],
        "CreateParticipant": [UNAVAILABLE],
        "ListConferences": [UNAVAILABLE],
    }
    async with client(target) as rollcall:
        await rollcall.fetch_participant("CF1", "CA1")
        await rollcall.create_participant("room", from_endpoint="+15005550006", to_endpoint="+1555")
        await rollcall.list_conferences()
    methods = [seen.method for seen in script.seen]
    assert methods == ["FetchParticipant"] * 3 + ["CreateParticipant"] * 2 + ["ListConferences"] * 2
    creates = [seen.request for seen in script.seen if seen.method == "CreateParticipant"]
    assert creates[0].request_id, "the client makes a request_id when none is given"
    assert creates[0].request_id == creates[1].request_id


async def test_updates_are_not_retried(scripted: tuple[Scripted, str]) -> None:
    script, target = scripted
    script.failures = {"UpdateParticipant": [UNAVAILABLE]}
    async with client(target) as rollcall:
        with pytest.raises(RollcallClientError) as caught:
            await rollcall.update_participant("CF1", "CA1", muted=True)
    assert caught.value.code == "UNAVAILABLE"
    assert [seen.method for seen in script.seen] == ["UpdateParticipant"]


async def test_retry_info_is_honoured_then_given_up(scripted: tuple[Scripted, str]) -> None:
    script, target = scripted
    script.failures = {"FetchParticipant": [THROTTLED, THROTTLED]}
    async with client(target) as rollcall:
        await rollcall.fetch_participant("CF1", "CA1")
    assert len(script.seen) == 3
    script.seen.clear()
    script.failures = {"FetchParticipant": [THROTTLED] * 10, "UpdateParticipant": [THROTTLED]}
    async with client(target) as rollcall:
        with pytest.raises(RollcallClientError) as caught:
            await rollcall.fetch_participant("CF1", "CA1")
        assert caught.value.retry_delay == pytest.approx(0.001)
        with pytest.raises(RollcallClientError):
            await rollcall.update_participant("CF1", "CA1", muted=True)
    # Three retries, then the error; never for an update.
    assert [s.method for s in script.seen] == ["FetchParticipant"] * 4 + ["UpdateParticipant"]
    script.seen.clear()
    script.failures = {"FetchParticipant": [THROTTLED]}
    async with client(target, retries=False) as rollcall:
        with pytest.raises(RollcallClientError):
            await rollcall.fetch_participant("CF1", "CA1")
    assert len(script.seen) == 1


async def test_channel_options_pass_through_and_win(scripted: tuple[Scripted, str]) -> None:
    """A caller's round_robin over a dns:/// target (the recipe of docs/grpc.md)."""
    script, target = scripted
    options = [("grpc.lb_policy_name", "round_robin"), ("grpc.primary_user_agent", "tests")]
    async with client(f"dns:///{target}", options=options) as rollcall:
        await asyncio.wait_for(rollcall.fetch_participant("CF1", "CA1"), 20)
    assert [s.method for s in script.seen] == ["FetchParticipant"]
    assert "UNAVAILABLE" in SERVICE_CONFIG
