"""The gRPC codec: how a service's methods are registered, and how their answers are encoded.

Rule 1: a service is registered from its proto descriptor: one method handler
        per RPC, bound to the servicer's method of the same name (a missing one
        fails at start), decoding requests with the message class the
        descriptor names.
Rule 2: every answer, unary or streamed, goes through one response encoder:
        a Prebuilt (service.renders) is sent as its bytes, anything else is a
        message and is serialized. It is the only place bytes are told apart
        from messages, so a servicer returns one or the other under its own
        types, and nothing is passed through by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from service.renders import Prebuilt


def encode(answer: Message | Prebuilt[Any]) -> bytes:
    """An answer's bytes (Rule 2)."""
    if type(answer) is Prebuilt:
        return answer.wire
    assert isinstance(answer, Message)
    return answer.SerializeToString()


class Registers(Protocol):
    """Where a service's handlers go: a grpc.aio server, or service.rpc.front's registrar."""

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None: ...

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None: ...


def add_service(server: Registers, service: ServiceDescriptor, servicer: object) -> None:
    """Register `servicer` for `service` on `server` (Rule 1)."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in service.methods:
        if method.client_streaming:
            raise ValueError(f"{method.full_name}: client streaming is not supported")
        behaviour = getattr(servicer, method.name)
        decode = message_factory.GetMessageClass(method.input_type).FromString
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            behaviour, request_deserializer=decode, response_serializer=encode
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
