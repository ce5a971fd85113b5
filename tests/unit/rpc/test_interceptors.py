"""The RPC log interceptor (service.rpc.interceptors): a method's handler is
wrapped once, and every call through it is still counted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc import metrics
from service.rpc.interceptors import RpcLogInterceptor, Wrapped

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

    async def continuation(_: Any) -> Any:
        return handler

    interceptor = RpcLogInterceptor()
    details = SimpleNamespace(method=METHOD, invocation_metadata=())
    first = await interceptor.intercept_service(continuation, details)
    second = await interceptor.intercept_service(continuation, details)
    assert first is second
    counted = metrics.RPCS.labels(METHOD, "OK")
    before = counted._value.get()
    assert await first.unary_unary(pb.FetchParticipantRequest(), _Context()) == "answer"
    assert await second.unary_unary(pb.FetchParticipantRequest(), _Context()) == "answer"
    assert counted._value.get() == before + 2


def test_the_wrapped_handlers_stay_within_their_bound() -> None:
    wrapped = Wrapped(limit=4)
    made = [wrapped.get(("handler", n), lambda h: ("wrapped", h)) for n in range(10)]
    assert made[-1] == ("wrapped", ("handler", 9))
    assert len(wrapped._wrapped) <= 4
