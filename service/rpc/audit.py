"""AuditService: the account's audit trail, and look-up and erasure by number.

Rule 1: every call authenticates and is rate limited like ParticipantService,
        then has its request bounds checked (service.rpc.limits); `parent`
        must name the caller's own account (another answers NOT_FOUND, exactly
        as an unknown one does) and every read and erase is scoped to it.
Rule 2: a list is newest first; its page tokens are sealed like every list's
        (rpc.page_tokens), bound to the account and every filter.
Rule 3: bad fields are INVALID_ARGUMENT with a BadRequest naming them; a
        number is never echoed in an error, a log line or an answer.
Rule 4: the erase acts as the authenticated caller, so its redaction events
        and its audit record name the caller's key or account.
"""

from __future__ import annotations

import re

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from rollcall.v1 import audit_service_pb2 as pb
from rollcall.v1 import audit_service_pb2_grpc as pb_grpc
from service.auth import Authenticator
from service.core import errors
from service.core.actors import ActorKind
from service.core.audit import AuditFilter, AuditRecord
from service.core.personal import NumberHolder, normalize
from service.core.ports.store import Store
from service.core.privacy import Privacy
from service.ratelimit import RateLimiter
from service.rpc import limits, names
from service.rpc.messages import ACTOR_KINDS, actor, timestamp
from service.rpc.page_tokens import PageTokens
from service.rpc.servicer import _unary

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_NUMBER = 256
_KINDS = {number: kind for kind, number in ACTOR_KINDS.items()}
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_WORD = re.compile(r"^[a-z][a-z-]{0,63}$")

Request = pb.ListAuditRecordsRequest | pb.LookupNumberRequest | pb.EraseNumberRequest


def binding(account_sid: str, flt: AuditFilter) -> bytes:
    """What an audit page token is bound to: the account and every filter."""
    parts = (
        "v1-audit",
        account_sid,
        f"time={flt.time_from!r},{flt.time_before!r}",
        f"actor={flt.actor_sid},{flt.actor_kind}",
        f"resource={flt.resource}",
        f"conference={flt.conference_sid}",
        f"type={flt.event_type}",
    )
    return "\x00".join(parts).encode()


def record(r: AuditRecord) -> pb.AuditRecord:
    return pb.AuditRecord(
        id=r.id,
        time=timestamp(r.time),
        conference_sid=r.conference_sid,
        revision=r.revision,
        event_type=r.event_type,
        resource=r.resource,
        actor=actor(r.actor),
        detail=r.detail,
    )


def holder(h: NumberHolder) -> pb.NumberHolder:
    return pb.NumberHolder(
        conference_sid=h.conference_sid,
        call_sid=h.call_sid,
        live=h.live,
        events=h.events,
        dead_letters=h.dead_letters,
    )


def _seconds(value: Timestamp) -> float:
    return value.seconds + value.nanos / 1e9


def audit_filter(request: pb.ListAuditRecordsRequest) -> AuditFilter:
    bad: list[errors.FieldViolation] = []
    for field in ("actor_sid", "resource", "conference_sid"):
        value = getattr(request, field)
        if value and not _SID.match(value):
            bad.append(errors.FieldViolation(field, "must be a SID (two letters, 32 hex digits)"))
    if request.event_type and not _WORD.match(request.event_type):
        bad.append(errors.FieldViolation("event_type", "must be an event type word"))
    if request.actor_kind and request.actor_kind not in _KINDS:
        bad.append(errors.FieldViolation("actor_kind", "unknown actor kind"))
    if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
        bad.append(errors.FieldViolation("page_size", f"must be between 1 and {MAX_PAGE_SIZE}"))
    start = _seconds(request.start_time) if request.HasField("start_time") else None
    end = _seconds(request.end_time) if request.HasField("end_time") else None
    if start is not None and end is not None and end < start:
        bad.append(errors.FieldViolation("end_time", "must not be before start_time"))
    if bad:
        raise errors.invalid(bad)
    kind: ActorKind | None = _KINDS.get(request.actor_kind) if request.actor_kind else None
    return AuditFilter(
        time_from=start,
        time_before=end,
        actor_sid=request.actor_sid,
        actor_kind=kind,
        resource=request.resource,
        conference_sid=request.conference_sid,
        event_type=request.event_type,
    )


def _number(value: str) -> str:
    if not value.strip() or len(value) > MAX_NUMBER or not normalize(value).strip("+"):
        raise errors.invalid_field(
            "number", "must be a phone number, or a sip: or client: address", 21211
        )
    return value


class AuditApi:
    def __init__(
        self,
        auth: Authenticator,
        store: Store,
        privacy: Privacy,
        page_tokens: PageTokens,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.auth = auth
        self.store = store
        self.privacy = privacy
        self.page_tokens = page_tokens
        self.limiter = limiter

    def _account(self, authorization: str | None, request: Request) -> str:
        account = self.auth.authenticate(authorization)
        if self.limiter is not None:
            self.limiter.take(account)
        limits.check(request)
        named = names.parse_account(request.parent)
        if named != account:
            raise errors.not_found(f"account {named}", "ACCOUNT_NOT_FOUND")
        return account

    async def list_audit_records(
        self, request: pb.ListAuditRecordsRequest, authorization: str | None
    ) -> pb.ListAuditRecordsResponse:
        account = self._account(authorization, request)
        flt = audit_filter(request)
        bound = binding(account, flt)
        before = None
        if request.page_token:
            _, before = self.page_tokens.open(request.page_token, bound)
            if before is None:
                raise errors.invalid_field("page_token", "not a page token of this list")
        size = request.page_size or DEFAULT_PAGE_SIZE
        found = await self.store.audit_records(account, flt, before_id=before, limit=size + 1)
        page = found[:size]
        token = self.page_tokens.issue(None, page[-1].id, bound) if len(found) > size else ""
        return pb.ListAuditRecordsResponse(
            audit_records=[record(r) for r in page], next_page_token=token
        )

    async def lookup_number(
        self, request: pb.LookupNumberRequest, authorization: str | None
    ) -> pb.LookupNumberResponse:
        account = self._account(authorization, request)
        found = await self.privacy.lookup(account, _number(request.number))
        return pb.LookupNumberResponse(holders=[holder(h) for h in found])

    async def erase_number(
        self, request: pb.EraseNumberRequest, authorization: str | None
    ) -> pb.EraseNumberResponse:
        account = self._account(authorization, request)
        erased, ended = await self.privacy.erase(
            account, _number(request.number), end_live_calls=request.end_live_calls
        )
        return pb.EraseNumberResponse(erased=[holder(h) for h in erased], ended=ended)


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, api: AuditApi) -> None:
        self.api = api

    async def ListAuditRecords(
        self, request: pb.ListAuditRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditRecordsResponse:
        return await _unary(self.api.list_audit_records, request, context)

    async def LookupNumber(
        self, request: pb.LookupNumberRequest, context: grpc.aio.ServicerContext
    ) -> pb.LookupNumberResponse:
        return await _unary(self.api.lookup_number, request, context)

    async def EraseNumber(
        self, request: pb.EraseNumberRequest, context: grpc.aio.ServicerContext
    ) -> pb.EraseNumberResponse:
        return await _unary(self.api.erase_number, request, context)


__all__ = ["AuditApi", "AuditServicer"]
