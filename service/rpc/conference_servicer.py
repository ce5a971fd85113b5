"""The gRPC servicer of ConferenceService: metadata and status codes around ConferenceApi.

Rule 1: like ParticipantServicer it adds nothing but transport: it reads the
        `authorization` metadata, calls the ConferenceApi the REST gateway uses too,
        and turns a RollcallError into a google.rpc.Status (anything else into
        INTERNAL, logged).
"""

from __future__ import annotations

import grpc

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from service.rpc.conferences import ConferenceApi
from service.rpc.servicer import _unary


class ConferenceServicer(cpb_grpc.ConferenceServiceServicer):
    def __init__(self, api: ConferenceApi) -> None:
        self.api = api

    async def ListConferences(
        self, request: cpb.ListConferencesRequest, context: grpc.aio.ServicerContext
    ) -> cpb.ListConferencesResponse:
        return await _unary(self.api.list_conferences, request, context)

    async def FetchConference(
        self, request: cpb.FetchConferenceRequest, context: grpc.aio.ServicerContext
    ) -> cpb.FetchConferenceResponse:
        return await _unary(self.api.fetch_conference, request, context)

    async def UpdateConference(
        self, request: cpb.UpdateConferenceRequest, context: grpc.aio.ServicerContext
    ) -> cpb.UpdateConferenceResponse:
        return await _unary(self.api.update_conference, request, context)

    async def GetHearing(
        self, request: cpb.GetHearingRequest, context: grpc.aio.ServicerContext
    ) -> cpb.GetHearingResponse:
        return await _unary(self.api.get_hearing, request, context)
