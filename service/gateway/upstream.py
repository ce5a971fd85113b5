"""The gateway's one way into the service: the ParticipantService and ConferenceService calls.

Rule 1: the REST gateway never reaches past this interface: in process it is
        handed `LocalUpstream` (the ParticipantApi and ConferenceApi the gRPC
        servicers call), standalone `GrpcUpstream` (stubs on a channel,
        service.gateway.grpc_upstream).
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
Rule 5: over gRPC (service.gateway.grpc_upstream), each call carries the
        REST caller's address, request id and trace context.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from typing import Protocol

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import AccountEvent, Idle
from service.renders import Prebuilt, Rendered

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
