"""Rollcall's audit and privacy routes (not Twilio's: under /rollcall/v1/).

`GET  /rollcall/v1/accounts/{AC}/audit-records` lists the account's changes;
`POST /rollcall/v1/accounts/{AC}/numbers/lookup` finds what holds a number;
`POST /rollcall/v1/accounts/{AC}/numbers/erase` erases it.

Rule 1: each route is one AuditService call through `AuditCalls` (the
        AuditApi in process, a stub standalone), nothing more: the same
        authentication, tenancy, filters, sealed page tokens and errors
        (Twilio's error JSON) as the RPC.
Rule 2: list filters are query parameters in Twilio's spelling (StartTime,
        EndTime as RFC 3339, ActorSid, ActorKind, Resource, ConferenceSid,
        EventType, PageSize, PageToken); the number is a form field of a
        POST (Number, EndLiveCalls), never part of a URL, so it reaches no
        access log.
Rule 3: answers are JSON with snake_case names, as the RPC's messages read.
"""

from __future__ import annotations

from typing import Any, Protocol

import grpc
from aiohttp import hdrs, web
from google.protobuf import json_format
from google.protobuf.message import Message

from clients.words import enum_number
from rollcall.v1 import audit_service_pb2 as pb
from rollcall.v1 import audit_service_pb2_grpc as pb_grpc
from rollcall.v1 import participant_service_pb2 as ppb
from service.core.errors import invalid_field
from service.gateway import incoming
from service.gateway.grpc_upstream import call_metadata
from service.gateway.status import from_rpc_error

NAMESPACE = "/rollcall/v1/accounts/{account}"
RECORDS = NAMESPACE + "/audit-records"
LOOKUP = NAMESPACE + "/numbers/lookup"
ERASE = NAMESPACE + "/numbers/erase"
_TRUE = ("true", "1", "yes")


class AuditCalls(Protocol):
    async def list_audit_records(
        self, request: pb.ListAuditRecordsRequest, authorization: str | None
    ) -> pb.ListAuditRecordsResponse: ...

    async def lookup_number(
        self, request: pb.LookupNumberRequest, authorization: str | None
    ) -> pb.LookupNumberResponse: ...

    async def erase_number(
        self, request: pb.EraseNumberRequest, authorization: str | None
    ) -> pb.EraseNumberResponse: ...


class GrpcAudit:
    """`AuditCalls` over a channel to a remote AuditService (standalone)."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float | None = 30.0) -> None:
        self._stub = pb_grpc.AuditServiceStub(channel)
        self._timeout = timeout

    async def _call(self, method: Any, request: Any, authorization: str | None) -> Any:
        try:
            return await method(
                request, metadata=call_metadata(authorization), timeout=self._timeout
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def list_audit_records(
        self, request: pb.ListAuditRecordsRequest, authorization: str | None
    ) -> pb.ListAuditRecordsResponse:
        answer: pb.ListAuditRecordsResponse = await self._call(
            self._stub.ListAuditRecords, request, authorization
        )
        return answer

    async def lookup_number(
        self, request: pb.LookupNumberRequest, authorization: str | None
    ) -> pb.LookupNumberResponse:
        answer: pb.LookupNumberResponse = await self._call(
            self._stub.LookupNumber, request, authorization
        )
        return answer

    async def erase_number(
        self, request: pb.EraseNumberRequest, authorization: str | None
    ) -> pb.EraseNumberResponse:
        answer: pb.EraseNumberResponse = await self._call(
            self._stub.EraseNumber, request, authorization
        )
        return answer


_CALLS: web.AppKey[AuditCalls] = web.AppKey("rollcall_audit_calls")


def _json(message: Message, status: int = 200) -> web.Response:
    body = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return web.json_response(body, status=status, headers={hdrs.CACHE_CONTROL: "no-store"})


def _time(request: pb.ListAuditRecordsRequest, field: str, name: str, value: str) -> None:
    try:
        getattr(request, field).FromJsonString(value)
    except ValueError:
        raise invalid_field(name, "must be an RFC 3339 time (2026-01-02T03:04:05Z)") from None


def list_request(account: str, query: Any) -> pb.ListAuditRecordsRequest:
    request = pb.ListAuditRecordsRequest(
        parent=f"accounts/{account}",
        page_token=query.get("PageToken", ""),
        actor_sid=query.get("ActorSid", ""),
        resource=query.get("Resource", ""),
        conference_sid=query.get("ConferenceSid", ""),
        event_type=query.get("EventType", ""),
    )
    size = query.get("PageSize", "")
    if size:
        if not size.isdigit():
            raise invalid_field("PageSize", "must be a whole number")
        request.page_size = min(int(size), 1_000_000)
    if query.get("StartTime"):
        _time(request, "start_time", "StartTime", query["StartTime"])
    if query.get("EndTime"):
        _time(request, "end_time", "EndTime", query["EndTime"])
    kind = query.get("ActorKind", "")
    if kind:
        try:
            number = enum_number(ppb.ActorKind.DESCRIPTOR, kind)
        except ValueError:
            raise invalid_field(
                "ActorKind", "must be account, api-key, carrier or rollcall"
            ) from None
        request.actor_kind = number  # type: ignore[assignment]
    return request


async def list_records(request: web.Request) -> web.Response:
    account = incoming.segment(request, "account")
    message = list_request(account, request.query)
    answer = await request.app[_CALLS].list_audit_records(message, incoming.authorization(request))
    return _json(answer)


async def _number_form(request: web.Request) -> tuple[str, Any]:
    account = incoming.segment(request, "account")
    form = await incoming.read_form(request)
    return account, form


async def lookup(request: web.Request) -> web.Response:
    account, form = await _number_form(request)
    message = pb.LookupNumberRequest(parent=f"accounts/{account}", number=form.get("Number", ""))
    answer = await request.app[_CALLS].lookup_number(message, incoming.authorization(request))
    return _json(answer)


async def erase(request: web.Request) -> web.Response:
    account, form = await _number_form(request)
    message = pb.EraseNumberRequest(
        parent=f"accounts/{account}",
        number=form.get("Number", ""),
        end_live_calls=form.get("EndLiveCalls", "").lower() in _TRUE,
    )
    answer = await request.app[_CALLS].erase_number(message, incoming.authorization(request))
    return _json(answer)


def add_routes(app: web.Application, calls: AuditCalls) -> None:
    app[_CALLS] = calls
    app.router.add_get(RECORDS, list_records)
    app.router.add_post(LOOKUP, lookup)
    app.router.add_post(ERASE, erase)
