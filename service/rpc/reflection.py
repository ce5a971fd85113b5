"""Server reflection, as grpc.reflection.v1 and the older v1alpha.

Rule 1: both names answer from one servicer (grpcio-reflection's, which ships
        only v1alpha, at its newest release 1.85): grpc.reflection.v1's
        messages are v1alpha's, field for field and number for number, so
        the same bytes decode as either; tools that ask v1 first (grpcurl,
        Postman) and older ones that ask v1alpha get the same answers.
Rule 2: both are listed among the services reflection names.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from service.rpc.codec import Registers

__all__ = ["V1ALPHA_SERVICE_NAME", "V1_SERVICE_NAME", "enable"]

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME


def enable(services: Iterable[str], server: Registers) -> None:
    """Serve reflection for `services` (and itself) under both names."""
    names = (*services, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
    servicer = reflection.aio.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": handler}),)
    )
