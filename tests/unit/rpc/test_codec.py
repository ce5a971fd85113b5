"""The gRPC codec (service.rpc.codec): one encoder for every answer, and a
service registered from its descriptor."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.renders import Prebuilt
from service.rpc import codec
from service.rpc.servicer import ParticipantServicer

SERVICE = pb.DESCRIPTOR.services_by_name["ParticipantService"]


def test_a_prebuilt_answer_is_sent_as_its_bytes_and_a_message_is_serialized() -> None:
    message = pb.WatchConferenceResponse(progress=pb.ProgressMarker(revision=7))
    wire = message.SerializeToString()
    assert codec.encode(Prebuilt(pb.WatchConferenceResponse, wire)) is wire
    assert codec.encode(message) == wire


class _Server:
    """Records what add_service registers (the grpc.aio.Server calls it makes)."""

    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, name: str, handlers: Any) -> None:
        self.registered[name] = handlers


def test_every_method_is_registered_with_the_one_encoder() -> None:
    server = _Server()
    servicer = ParticipantServicer(api=None)  # type: ignore[arg-type]
    codec.add_service(server, SERVICE, servicer)
    handlers = server.registered[SERVICE.full_name]
    assert set(handlers) == {m.name for m in SERVICE.methods}
    for method in SERVICE.methods:
        handler = handlers[method.name]
        assert handler.response_serializer is codec.encode
        assert handler.response_streaming == method.server_streaming
        behaviour = handler.unary_stream if method.server_streaming else handler.unary_unary
        assert behaviour == getattr(servicer, method.name)
        request = handler.request_deserializer(b"")
        assert request.DESCRIPTOR is method.input_type
    assert len(server.generic) == 1


def test_a_servicer_missing_a_method_fails_at_registration() -> None:
    with pytest.raises(AttributeError):
        codec.add_service(_Server(), SERVICE, object())
