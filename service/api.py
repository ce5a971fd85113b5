"""ParticipantService as plain async methods: proto request in, proto response out.

The rule it keeps (DESIGN.md): this is the one implementation of the
service's behaviour. The gRPC servicer and the in-process REST gateway both
call it, so they can never disagree. Every method is admitted first (see
admission: the in-flight bound and the stop gate), then authenticates, then
checks that the resource's account is the caller's (answering NOT_FOUND
otherwise, exactly as for a resource that does not exist), then validates,
then acts. Failures are RollcallError.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from rollcall.v1 import participant_service_pb2 as pb
from service import convert, errors, proto_cache, validation
from service.admission import Admission
from service.auth import Authenticator
from service.core.usecases import ConferenceRef, Participants
from service.ratelimit import RateLimiter
from service.store.port import ParticipantFilter

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

P = ParamSpec("P")
R = TypeVar("R")
Method = Callable[Concatenate["ParticipantApi", P], Coroutine[Any, Any, R]]


def _admitted(method: Method[P, R]) -> Method[P, R]:
    """Run the method inside one admission slot (refused before any work)."""

    @functools.wraps(method)
    async def admitted(self: ParticipantApi, /, *args: P.args, **kwargs: P.kwargs) -> R:
        admission = self.admission
        if admission is None:
            return await method(self, *args, **kwargs)
        task = admission.enter()
        try:
            return await method(self, *args, **kwargs)
        except asyncio.CancelledError:
            admission.cancelled(task)
            raise
        finally:
            admission.leave(task)

    return admitted


def _encode_token(direction: str, seq: int) -> str:
    raw = json.dumps({"d": direction, "s": seq}, separators=(",", ":")).encode()
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[int | None, int | None]:
    """(after, before) from a page token."""
    try:
        if not token.startswith("PT"):
            raise ValueError(token)
        body = token[2:]
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        seq = int(data["s"])
        if data["d"] == "a":
            return seq, None
        if data["d"] == "b":
            return None, seq
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise errors.invalid_field("page_token", "not a page token this service issued")


class ParticipantApi:
    def __init__(
        self,
        auth: Authenticator,
        participants: Participants,
        limiter: RateLimiter | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.auth = auth
        self.participants = participants
        self.limiter = limiter
        self.admission = admission

    def _caller(self, authorization: str | None) -> str:
        """The caller's account, once authenticated and within its rate limit."""
        account = self.auth.authenticate(authorization)
        if self.limiter is not None:
            self.limiter.take(account)
        return account

    def _conference_of(self, authorization: str | None, parent: str) -> ConferenceRef:
        """The caller's conference named by `parent`; another account's is not found,
        exactly as a missing one is."""
        account = self._caller(authorization)
        ref = validation.parse_parent(parent)
        if account != ref.account_sid:
            raise errors.conference_not_found(f"conference {ref.key}")
        return ref

    def _participant_of(self, authorization: str | None, name: str) -> tuple[ConferenceRef, str]:
        """The caller's participant named by `name` (conference, call SID or label)."""
        account = self._caller(authorization)
        ref, key = validation.parse_name(name)
        if account != ref.account_sid:
            raise errors.participant_not_found(f"participant {key}")
        return ref, key

    @_admitted
    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse:
        ref = self._conference_of(authorization, request.parent)
        cmd = validation.create_command(request, ref)
        created, queue_ms = await self.participants.create(cmd)
        return pb.CreateParticipantResponse(participant=convert.participant(created, queue_ms))

    @_admitted
    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> pb.FetchParticipantResponse:
        ref, key = self._participant_of(authorization, request.name)
        found = await self.participants.fetch(ref, key, include_ended=request.include_ended)
        return pb.FetchParticipantResponse(participant=proto_cache.participant(found))

    @_admitted
    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse:
        ref = self._conference_of(authorization, request.parent)
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            raise errors.invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        after, before = _decode_token(request.page_token) if request.page_token else (None, None)
        flt = ParticipantFilter(
            muted=request.muted if request.HasField("muted") else None,
            hold=request.hold if request.HasField("hold") else None,
            coaching=request.coaching if request.HasField("coaching") else None,
            include_ended=request.include_ended,
        )
        page = await self.participants.list(
            ref,
            flt,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            after=after,
            before=before,
        )
        return pb.ListParticipantsResponse(
            participants=[proto_cache.participant(p) for p in page.participants],
            next_page_token=(
                _encode_token("a", page.next_after) if page.next_after is not None else ""
            ),
            previous_page_token=(
                _encode_token("b", page.previous_before) if page.previous_before is not None else ""
            ),
            revision=page.revision,
        )

    @_admitted
    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse:
        ref, key = self._participant_of(authorization, request.name)
        cmd = validation.update_command(request)
        updated = await self.participants.update(ref, key, cmd)
        return pb.UpdateParticipantResponse(participant=convert.participant(updated))

    @_admitted
    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse:
        ref, key = self._participant_of(authorization, request.name)
        deleted = await self.participants.delete(ref, key, request.etag)
        return pb.DeleteParticipantResponse(participant=convert.participant(deleted))
