"""The gateway's one way into the service: the ParticipantService and
ConferenceService calls.

Rule 1: the REST gateway never reaches past this interface: in process it is
        handed `LocalUpstream` (the ParticipantApi and ConferenceApi the gRPC
        servicers call), standalone `GrpcUpstream` (stubs on a channel).
Rule 2: either way a failure arrives as the same RollcallError a gRPC client would
        see, so REST and gRPC cannot disagree.
Rule 3: a fetched participant arrives rendered (service.renders: its REST
        JSON built once per revision, read-only); in process it is the entry
        the gRPC face sends from too.
Rule 4: `watch_account` returns once the caller is authenticated (a refusal
        raises then, before any item); closing the iterator ends the stream.
        Its items are messages, but in process an event comes in parts and
        the stream marks where it waits (service.account_events), so the SSE
        face frames an event without decoding it.
Rule 5: over gRPC, each call carries the REST caller's address (as
        `x-forwarded-for`), the request's id (`x-request-id`) and trace context
        (`traceparent`), so both faces log, audit and trace it as one.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from clients.watch import PROGRESS_INTERVAL_KEY
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service import logins, tracing
from service.account_events import AccountEvent, Idle
from service.core.errors import RollcallError, unauthenticated
from service.gateway.render import participant_json_bytes
from service.gateway.status import from_rpc_error, from_status
from service.renders import Prebuilt, Rendered, Renders

log = logging.getLogger(__name__)

# What a watch_account stream yields (Rule 4).
WatchItem = pb.WatchAccountResponse | AccountEvent | Idle

# The REST request being served (set by service.gateway.observe).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "rollcall_request_id", default=None
)


class _ChangeCalls(Protocol):
    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse: ...

    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse: ...

    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse: ...

    async def move_participant(
        self, request: pb.MoveParticipantRequest, authorization: str | None
    ) -> pb.MoveParticipantResponse: ...

    async def update_participants(
        self, request: pb.UpdateParticipantsRequest, authorization: str | None
    ) -> pb.UpdateParticipantsResponse: ...


class _ParticipantCalls(_ChangeCalls, Protocol):
    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Rendered: ...

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse: ...


class _WatchCalls(Protocol):
    async def create_watch_token(
        self, request: pb.CreateWatchTokenRequest, authorization: str | None
    ) -> pb.CreateWatchTokenResponse: ...

    async def watch_account(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[WatchItem]: ...


class _LocalParticipants(_ChangeCalls, Protocol):
    """What LocalUpstream uses of ParticipantApi."""

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Prebuilt[pb.FetchParticipantResponse]: ...

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> Prebuilt[pb.ListParticipantsResponse]: ...

    async def create_watch_token(
        self, request: pb.CreateWatchTokenRequest, authorization: str | None
    ) -> pb.CreateWatchTokenResponse: ...

    def watch_account_parts(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[WatchItem]: ...


class _ConferenceCalls(Protocol):
    async def list_conferences(
        self, request: cpb.ListConferencesRequest, authorization: str | None
    ) -> cpb.ListConferencesResponse: ...

    async def fetch_conference(
        self, request: cpb.FetchConferenceRequest, authorization: str | None
    ) -> cpb.FetchConferenceResponse: ...

    async def update_conference(
        self, request: cpb.UpdateConferenceRequest, authorization: str | None
    ) -> cpb.UpdateConferenceResponse: ...

    async def get_hearing(
        self, request: cpb.GetHearingRequest, authorization: str | None
    ) -> cpb.GetHearingResponse: ...


class Upstream(_ParticipantCalls, _ConferenceCalls, _WatchCalls, Protocol):
    """ParticipantService and ConferenceService as the gateway calls them.

    `authorization` is the caller's raw `Authorization` header value (None when
    the request had none); the service authenticates it and enforces tenancy.
    """


class LocalUpstream:
    """`Upstream` in process: the same ParticipantApi and ConferenceApi the
    gRPC servicers call, so REST and gRPC run one implementation."""

    def __init__(self, participants: _LocalParticipants, conferences: _ConferenceCalls) -> None:
        self._participants = participants
        self.create_watch_token = participants.create_watch_token
        self.create_participant = participants.create_participant
        self.update_participant = participants.update_participant
        self.delete_participant = participants.delete_participant
        self.move_participant = participants.move_participant
        self.update_participants = participants.update_participants
        self.list_conferences = conferences.list_conferences
        self.fetch_conference = conferences.fetch_conference
        self.update_conference = conferences.update_conference
        self.get_hearing = conferences.get_hearing

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Rendered:
        answer = await self._participants.fetch_participant(request, authorization)
        return answer.rendered[0]

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse:
        answer = await self._participants.list_participants(request, authorization)
        return answer.message()

    async def watch_account(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[WatchItem]:
        # ParticipantApi authenticates before it returns the stream (Rule 4).
        return self._participants.watch_account_parts(request, authorization)


def _metadata(authorization: str | None) -> tuple[tuple[str, str], ...]:
    """The caller's credentials, address, request id and trace context (Rule 5);
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
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Rendered:
        try:
            response: pb.FetchParticipantResponse = await self._stub.FetchParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return self._renders.of_message(response.participant)

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

    async def create_watch_token(
        self, request: pb.CreateWatchTokenRequest, authorization: str | None
    ) -> pb.CreateWatchTokenResponse:
        try:
            response: pb.CreateWatchTokenResponse = await self._stub.CreateWatchToken(
                request, metadata=_metadata(authorization), timeout=self._timeout
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
        call = self._stub.WatchAccount(request, metadata=_metadata(authorization))
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
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def fetch_conference(
        self, request: cpb.FetchConferenceRequest, authorization: str | None
    ) -> cpb.FetchConferenceResponse:
        try:
            response: cpb.FetchConferenceResponse = await self._conferences.FetchConference(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_conference(
        self, request: cpb.UpdateConferenceRequest, authorization: str | None
    ) -> cpb.UpdateConferenceResponse:
        try:
            response: cpb.UpdateConferenceResponse = await self._conferences.UpdateConference(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def get_hearing(
        self, request: cpb.GetHearingRequest, authorization: str | None
    ) -> cpb.GetHearingResponse:
        try:
            response: cpb.GetHearingResponse = await self._conferences.GetHearing(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def move_participant(
        self, request: pb.MoveParticipantRequest, authorization: str | None
    ) -> pb.MoveParticipantResponse:
        try:
            response: pb.MoveParticipantResponse = await self._stub.MoveParticipant(
                request, metadata=_metadata(authorization), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _translate(error) from error
        return response

    async def update_participants(
        self, request: pb.UpdateParticipantsRequest, authorization: str | None
    ) -> pb.UpdateParticipantsResponse:
        try:
            response: pb.UpdateParticipantsResponse = await self._stub.UpdateParticipants(
                request, metadata=_metadata(authorization), timeout=self._timeout
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
