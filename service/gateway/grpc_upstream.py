"""GrpcUpstream: the gateway's `Upstream` over a grpc.aio channel (a gateway on its own).

Rule 1: each call carries the REST caller's address (as `x-forwarded-for`),
        the request's id (`x-request-id`) and trace context (`traceparent`),
        so both faces log, audit and trace it as one; credentials that are not
        printable ASCII are refused UNAUTHENTICATED before the channel sees them.
Rule 2: a gRPC failure becomes the RollcallError a gRPC client would see
        (service.gateway.status); a rich status that contradicts its call's
        code is read from the plain code and details instead.
Rule 3: a fetched participant's REST JSON is rendered once per revision by
        this gateway's own Renders.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc

from clients.watch import PROGRESS_INTERVAL_KEY
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service import logins, tracing
from service.core.errors import RollcallError, unauthenticated
from service.gateway.render import participant_json_bytes
from service.gateway.status import from_rpc_error, from_status
from service.gateway.upstream import REQUEST_ID
from service.renders import Rendered, Renders

__all__ = ["GrpcUpstream", "call_metadata"]

log = logging.getLogger(__name__)


def call_metadata(authorization: str | None) -> tuple[tuple[str, str], ...]:
    """The caller's credentials, address, request id and trace context (Rule 1);
    the service believes the address only from a trusted proxy."""
    sent: dict[str, str] = {}
    tracing.inject(sent)
    caller = logins.caller()
    hops = ", ".join(hop for hop in (caller.forwarded, caller.peer) if hop)
    if hops:
        sent["x-forwarded-for"] = hops
    request_id = REQUEST_ID.get() or caller.request_id
    if request_id:
        sent["x-request-id"] = request_id
    sent = {k: v for k, v in sent.items() if v.isascii() and v.isprintable()}
    if authorization is not None:
        # gRPC metadata values must be printable ASCII; anything else could never
        # be a valid Basic credential, so it is refused here rather than crashing
        # inside the channel.
        if not authorization.isascii() or not authorization.isprintable():
            raise unauthenticated()
        sent["authorization"] = authorization
    return tuple(sent.items())


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

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        timeout: float | None = 30.0,
        renders: Renders | None = None,
    ) -> None:
        self._stub = pb_grpc.ParticipantServiceStub(channel)
        self._conferences = cpb_grpc.ConferenceServiceStub(channel)
        self._timeout = timeout
        # Fetched participants' REST JSON, once per revision (this gateway's own).
        self._renders = Renders(None, participant_json_bytes) if renders is None else renders

    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse:
        try:
            response: pb.CreateParticipantResponse = await self._stub.CreateParticipant(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Rendered:
        try:
            response: pb.FetchParticipantResponse = await self._stub.FetchParticipant(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return self._renders.of_message(response.participant)

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse:
        try:
            response: pb.ListParticipantsResponse = await self._stub.ListParticipants(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse:
        try:
            response: pb.UpdateParticipantResponse = await self._stub.UpdateParticipant(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse:
        try:
            response: pb.DeleteParticipantResponse = await self._stub.DeleteParticipant(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def create_watch_token(
        self, request: pb.CreateWatchTokenRequest, authorization: str | None
    ) -> pb.CreateWatchTokenResponse:
        try:
            response: pb.CreateWatchTokenResponse = await self._stub.CreateWatchToken(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def watch_account(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[pb.WatchAccountResponse]:
        """The stream once the service has accepted the caller: its initial
        metadata (the progress interval) is sent only then; a refusal ends the
        call without it, and its status is raised here (Rule 4). No deadline:
        a watch runs until it is closed."""
        call = self._stub.WatchAccount(request, metadata=call_metadata(authorization))
        first: pb.WatchAccountResponse | None = None
        try:
            announced = await call.initial_metadata()
            if not any(key == PROGRESS_INTERVAL_KEY for key, _ in announced or ()):
                item = await call.read()
                if item is not grpc.aio.EOF:
                    first = item
        except grpc.aio.AioRpcError as error:
            call.cancel()
            raise _translate(error) from error
        except BaseException:
            call.cancel()
            raise
        return _read(call, first)

    async def list_conferences(
        self, request: cpb.ListConferencesRequest, authorization: str | None
    ) -> cpb.ListConferencesResponse:
        try:
            response: cpb.ListConferencesResponse = await self._conferences.ListConferences(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def fetch_conference(
        self, request: cpb.FetchConferenceRequest, authorization: str | None
    ) -> cpb.FetchConferenceResponse:
        try:
            response: cpb.FetchConferenceResponse = await self._conferences.FetchConference(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_conference(
        self, request: cpb.UpdateConferenceRequest, authorization: str | None
    ) -> cpb.UpdateConferenceResponse:
        try:
            response: cpb.UpdateConferenceResponse = await self._conferences.UpdateConference(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def get_hearing(
        self, request: cpb.GetHearingRequest, authorization: str | None
    ) -> cpb.GetHearingResponse:
        try:
            response: cpb.GetHearingResponse = await self._conferences.GetHearing(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def move_participant(
        self, request: pb.MoveParticipantRequest, authorization: str | None
    ) -> pb.MoveParticipantResponse:
        try:
            response: pb.MoveParticipantResponse = await self._stub.MoveParticipant(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_participants(
        self, request: pb.UpdateParticipantsRequest, authorization: str | None
    ) -> pb.UpdateParticipantsResponse:
        try:
            response: pb.UpdateParticipantsResponse = await self._stub.UpdateParticipants(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response


async def _read(
    call: grpc.aio.UnaryStreamCall, first: pb.WatchAccountResponse | None
) -> AsyncIterator[pb.WatchAccountResponse]:
    try:
        if first is not None:
            yield first
        while True:
            item = await call.read()
            if item is grpc.aio.EOF:
                return
            yield item
    except grpc.aio.AioRpcError as error:
        raise _translate(error) from error
    finally:
        call.cancel()
