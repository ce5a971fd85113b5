"""Prebuilt response bytes: passed through as they are, messages serialized as usual."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc.prebuilt import PrebuiltResponses, passing_bytes

WATCH = "/rollcall.v1.ParticipantService/WatchConference"


def test_bytes_pass_through_and_messages_are_serialized() -> None:
    message = pb.WatchConferenceResponse(progress=pb.ProgressMarker(revision=7))
    serialize = passing_bytes(pb.WatchConferenceResponse.SerializeToString)
    wire = message.SerializeToString()
    assert serialize(wire) is wire
    assert serialize(message) == wire


async def _intercept(method: str, handler: Any) -> Any:
    async def continuation(_: Any) -> Any:
        return handler

    return await PrebuiltResponses().intercept_service(continuation, SimpleNamespace(method=method))


async def test_only_watch_fetch_and_list_take_prebuilt_bytes() -> None:
    async def stream(request: Any, context: Any) -> Any:
        yield b""

    handler = grpc.unary_stream_rpc_method_handler(
        stream,
        request_deserializer=pb.WatchConferenceRequest.FromString,
        response_serializer=pb.WatchConferenceResponse.SerializeToString,
    )
    wrapped = await _intercept(WATCH, handler)
    assert wrapped.unary_stream is stream
    assert wrapped.request_deserializer is handler.request_deserializer
    assert wrapped.response_serializer(b"\x08\x01") == b"\x08\x01"
    other = "/rollcall.v1.ParticipantService/UpdateParticipant"
    assert await _intercept(other, handler) is handler
    assert await _intercept(WATCH, None) is None


async def test_a_unary_fetch_takes_prebuilt_bytes() -> None:
    async def fetch(request: Any, context: Any) -> Any:
        return b""

    handler = grpc.unary_unary_rpc_method_handler(
        fetch,
        request_deserializer=pb.FetchParticipantRequest.FromString,
        response_serializer=pb.FetchParticipantResponse.SerializeToString,
    )
    wrapped = await _intercept("/rollcall.v1.ParticipantService/FetchParticipant", handler)
    assert wrapped.unary_unary is fetch
    assert wrapped.response_serializer(b"\x0a\x00") == b"\x0a\x00"
    message = pb.FetchParticipantResponse()
    assert wrapped.response_serializer(message) == message.SerializeToString()
