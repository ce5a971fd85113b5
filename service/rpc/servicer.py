"""The gRPC servicer: metadata and status codes around ParticipantApi.

Rule 1: the servicer adds nothing but transport: it reads the `authorization`
        metadata and the caller's address (service.logins), calls the
        ParticipantApi the REST gateway uses too, and turns a RollcallError into
        a google.rpc.Status; anything else becomes INTERNAL with no internals
        leaked, and is logged.
Rule 2: a unary call whose deadline has already passed is answered
        DEADLINE_EXCEEDED without starting.
Rule 3: a watch stream's initial metadata (its progress interval) is sent as
        soon as the caller is authenticated, before any item (WatchConference
        and WatchAccount alike).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from service import logins
from service.admission import REFUSED
from service.core import errors
from service.renders import Prebuilt
from service.rpc.interceptors import note_reason
from service.rpc.participants import ParticipantApi
from service.rpc.status import to_grpc_status

log = logging.getLogger("rollcall.grpc")

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def calling(context: grpc.aio.ServicerContext) -> str | None:
    """Say who is calling (service.logins): the peer, and the forwarded
    address and request id the metadata carries; returns the call's
    `authorization` (the metadata read once)."""
    peer = context.peer()
    forwarded = request_id = ""
    authorization: str | None = None
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            if authorization is None:
                authorization = str(value)
        elif key == "x-forwarded-for":
            if isinstance(value, str):
                forwarded = value
        elif key == "x-request-id" and isinstance(value, str):
            request_id = value
    logins.calling(
        "grpc",
        logins.grpc_source(peer),
        peer=logins.grpc_host(peer),
        forwarded=forwarded,
        request_id=request_id,
    )
    return authorization


async def _unary(
    call: Callable[[Req, str | None], Awaitable[Resp]],
    request: Req,
    context: grpc.aio.ServicerContext,
) -> Resp:
    try:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            REFUSED.labels("DEADLINE_PASSED").inc()
            raise errors.deadline_passed()
        return await call(request, calling(context))
    except errors.RollcallError as exc:
        note_reason(exc.reason, exc.code.value)
        await context.abort_with_status(to_grpc_status(exc))
    except Exception:
        log.exception("internal error")
        note_reason("INTERNAL", "INTERNAL")
        await context.abort_with_status(to_grpc_status(errors.internal()))
    raise AssertionError("unreachable")  # abort_with_status always raises


class ParticipantServicer:
    """ParticipantService's methods, registered by rpc.codec (which encodes
    the Prebuilt answers some of them return)."""

    def __init__(self, api: ParticipantApi) -> None:
        self.api = api

    async def CreateParticipant(
        self, request: pb.CreateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateParticipantResponse:
        return await _unary(self.api.create_participant, request, context)

    async def FetchParticipant(
        self, request: pb.FetchParticipantRequest, context: grpc.aio.ServicerContext
    ) -> Prebuilt[pb.FetchParticipantResponse]:
        return await _unary(self.api.fetch_participant, request, context)

    async def ListParticipants(
        self, request: pb.ListParticipantsRequest, context: grpc.aio.ServicerContext
    ) -> Prebuilt[pb.ListParticipantsResponse]:
        return await _unary(self.api.list_participants, request, context)

    async def UpdateParticipant(
        self, request: pb.UpdateParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateParticipantResponse:
        return await _unary(self.api.update_participant, request, context)

    async def UpdateParticipants(
        self, request: pb.UpdateParticipantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateParticipantsResponse:
        return await _unary(self.api.update_participants, request, context)

    async def MoveParticipant(
        self, request: pb.MoveParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.MoveParticipantResponse:
        return await _unary(self.api.move_participant, request, context)

    async def DeleteParticipant(
        self, request: pb.DeleteParticipantRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteParticipantResponse:
        return await _unary(self.api.delete_participant, request, context)

    async def CreateWatchToken(
        self, request: pb.CreateWatchTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateWatchTokenResponse:
        return await _unary(self.api.create_watch_token, request, context)

    async def WatchConference(
        self, request: pb.WatchConferenceRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchConferenceResponse | Prebuilt[pb.WatchConferenceResponse]]:
        async for item in self._stream(
            "WatchConference", lambda auth: self.api.watch_conference(request, auth),
            context,
        ):  # fmt: skip
            yield item

    async def WatchAccount(
        self, request: pb.WatchAccountRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchAccountResponse | Prebuilt[pb.WatchAccountResponse]]:
        async for item in self._stream(
            "WatchAccount", lambda auth: self.api.watch_account(request, auth),
            context,
        ):  # fmt: skip
            yield item

    async def _stream(
        self,
        method: str,
        start: Callable[[str | None], AsyncIterator[Resp]],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[Resp]:
        try:
            items = start(calling(context))
            if self.api.watch is not None:
                # At once, not with the first item: a resumed stream may send
                # nothing for an interval, and the client needs the interval.
                await context.send_initial_metadata(self.api.watch.announcement())
            async for item in items:
                yield item
        except errors.RollcallError as exc:
            note_reason(exc.reason, exc.code.value)
            await context.abort_with_status(to_grpc_status(exc))
        except Exception:
            log.exception("internal error in %s", method)
            note_reason("INTERNAL", "INTERNAL")
            await context.abort_with_status(to_grpc_status(errors.internal()))
