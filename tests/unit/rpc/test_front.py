"""The front of every RPC (service.rpc.front): a method's handler is wrapped
once, and every call through it is still counted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc import metrics
from service.rpc.door import Door
from service.rpc.front import Front

METHOD = "/rollcall.v1.ParticipantService/FetchParticipant"


class _Context:
    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"

    def code(self) -> None:
        return None


async def test_a_handler_is_wrapped_once_and_every_call_is_counted() -> None:
    async def fetch(request: Any, context: Any) -> str:
        return "answer"

    handler = grpc.unary_unary_rpc_method_handler(
        fetch, pb.FetchParticipantRequest.FromString, pb.FetchParticipantResponse.SerializeToString
    )
    generic = Front(Door()).generic(
        grpc.method_handlers_generic_handler(
            "rollcall.v1.ParticipantService", {"FetchParticipant": handler}
        )
    )
    details = SimpleNamespace(method=METHOD, invocation_metadata=())
    first = generic.service(details)
    second = generic.service(details)
    assert first is second
    assert first is not handler
    counted = metrics.RPCS.labels(METHOD, "OK")
    before = counted._value.get()
    assert await first.unary_unary(pb.FetchParticipantRequest(), _Context()) == "answer"
    assert await second.unary_unary(pb.FetchParticipantRequest(), _Context()) == "answer"
    assert counted._value.get() == before + 2
