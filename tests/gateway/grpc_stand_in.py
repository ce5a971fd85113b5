"""A gRPC ParticipantService over the in-memory stand-in, for GrpcUpstream tests.

The servicer only moves calls across the wire: it hands the `authorization`
metadata and the request to InMemoryUpstream and turns a RollcallError into
google.rpc.Status with service.rpc.status, as the real servicer does, so
the gateway can be tested through a real channel before the real server
exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.core.errors import RollcallError
from service.rpc.status import to_grpc_status
from tests.gateway.memory_upstream import InMemoryUpstream

Response = TypeVar("Response")


class StandInServicer(pb_grpc.ParticipantServiceServicer):
    def __init__(self, upstream: InMemoryUpstream) -> None:
        self.upstream = upstream

    async def _call(
        self,
        method: Callable[[Any, str | None], Awaitable[Response]],
        request: Any,
        context: grpc.aio.ServicerContext,
    ) -> Response:
        metadata = dict(context.invocation_metadata() or ())
        try:
            return await method(request, metadata.get("authorization"))
        except RollcallError as error:
            status = to_grpc_status(error)
            await context.abort(
                status.code, status.details, trailing_metadata=status.trailing_metadata
            )
            raise AssertionError("abort returned") from None

    async def CreateParticipant(
        self, request: pb.CreateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateParticipantResponse:
        return await self._call(self.upstream.create_participant, request, context)

    async def FetchParticipant(
        self, request: pb.FetchParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.FetchParticipantResponse:
        return await self._call(self.upstream.fetch_participant, request, context)

    async def ListParticipants(
        self, request: pb.ListParticipantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListParticipantsResponse:
        return await self._call(self.upstream.list_participants, request, context)

    async def UpdateParticipant(
        self, request: pb.UpdateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateParticipantResponse:
        return await self._call(self.upstream.update_participant, request, context)

    async def DeleteParticipant(
        self, request: pb.DeleteParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteParticipantResponse:
        return await self._call(self.upstream.delete_participant, request, context)

    async def WatchConference(
        self, request: pb.WatchConferenceRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchConferenceResponse]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not part of the gateway")
        yield pb.WatchConferenceResponse()  # pragma: no cover (makes this a generator)


async def start_grpc_stand_in(upstream: InMemoryUpstream) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    pb_grpc.add_ParticipantServiceServicer_to_server(StandInServicer(upstream), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port
