"""The gateway's one way into the service: the five ParticipantService calls.

The rule it keeps: the REST gateway never reaches past this interface. In
process it is handed the servicer-side ParticipantApi (which satisfies
`Upstream` structurally); standalone it is handed `GrpcUpstream`, a real stub
on a channel. Either way a failure arrives as the same RollcallError a gRPC
client would see, so REST and gRPC cannot disagree.
"""

from __future__ import annotations

import logging
from typing import Protocol

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.errors import RollcallError, unauthenticated
from service.grpcapi.errors import from_rpc_error, from_status

log = logging.getLogger(__name__)


class Upstream(Protocol):
    """ParticipantService as the gateway calls it.

    `authorization` is the caller's raw `Authorization` header value (None when
    the request had none); the service authenticates it and enforces tenancy.
    """

    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse: ...

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> pb.FetchParticipantResponse: ...

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse: ...

    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse: ...

    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse: ...


def _metadata(authorization: str | None) -> tuple[tuple[str, str], ...]:
    if authorization is None:
        return ()
    # gRPC metadata values must be printable ASCII; anything else could never
    # be a valid Basic credential, so it is refused here rather than crashing
    # inside the channel.
    if not authorization.isascii() or not authorization.isprintable():
        raise unauthenticated()
    return (("authorization", authorization),)


def _translate(error: grpc.RpcError) -> RollcallError:
    try:
        return from_rpc_error(error)
    except ValueError:
        # The rich status did not match the call's code or details (a proxy
        # rewrote it); the plain code and details still say what happened.
        log.warning("inconsistent grpc-status-details-bin from upstream", exc_info=True)
        return from_status(error.code().name, error.details() or "", None)


class GrpcUpstream:
    """`Upstream` over a grpc.aio channel to a remote ParticipantService."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float | None = 30.0) -> None:
        self._stub = pb_grpc.ParticipantServiceStub(channel)
        self._timeout = timeout

    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse:
        try:
            response: pb.CreateParticipantResponse = await self._stub.CreateParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> pb.FetchParticipantResponse:
        try:
            response: pb.FetchParticipantResponse = await self._stub.FetchParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse:
        try:
            response: pb.ListParticipantsResponse = await self._stub.ListParticipants(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse:
        try:
            response: pb.UpdateParticipantResponse = await self._stub.UpdateParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse:
        try:
            response: pb.DeleteParticipantResponse = await self._stub.DeleteParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response
