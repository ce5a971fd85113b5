"""ParticipantApi: ParticipantService as plain async methods, proto request in, proto response out.

Rule 1: this is the one implementation of the service's behaviour: the gRPC
        servicer and the in-process REST gateway both call it, so they never
        disagree.
Rule 2: every method but the watches is admitted first (service.admission:
        the in-flight bound and the stop gate); then each authenticates (and takes
        from the rate limit), checks request bounds, checks that the resource's
        account is the caller's (NOT_FOUND otherwise, as for a missing one),
        validates, then acts.
Rule 3: failures are RollcallError.
Rule 4: WatchAccount alone also takes a watch token (`Bearer TOKEN`,
        rpc.watch_tokens) for the account it was minted for; only the
        account's own credentials mint one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from google.protobuf.message import Message

from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import AccountEvent, AccountItem, Idle
from service.admission import Admission
from service.auth import Authenticator
from service.core import attributes, errors
from service.core.commands import ConferenceRef
from service.core.participants import Participants
from service.core.ports.store import Page, ParticipantFilter
from service.ratelimit import RateLimiter
from service.renders import Prebuilt, Renders
from service.rpc import create_request, limits, messages, names, requests
from service.rpc.page_tokens import PageTokens, binding
from service.rpc.watch import WatchHub
from service.rpc.watch_account import AccountWatch
from service.rpc.watch_tokens import WatchTokens, bearer, until_expiry
from service.webhooks.destinations import DestinationPolicy, check_request

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


class ParticipantApi:
    def __init__(
        self,
        auth: Authenticator,
        participants: Participants,
        limiter: RateLimiter | None = None,
        admission: Admission | None = None,
        page_tokens: PageTokens | None = None,
        destinations: DestinationPolicy | None = None,
        watch: WatchHub | None = None,
        account_watch: AccountWatch | None = None,
        watch_tokens: WatchTokens | None = None,
        renders: Renders | None = None,
    ) -> None:
        self.auth = auth
        self.participants = participants
        self.limiter = limiter
        self.admission = admission
        # Without a shared key, tokens are good for this process only.
        self.page_tokens = page_tokens or PageTokens()
        # Where the URLs a request gives may point (callback SSRF); None: anywhere.
        self.destinations = destinations
        # WatchConference's streams (None: a server without them).
        self.watch = watch
        # WatchAccount's streams (None: a server without them).
        self.account_watch = account_watch
        # Watch tokens (None: WatchAccount takes the account's credentials only).
        self.watch_tokens = watch_tokens
        # Fetch and List answers, rendered once per participant revision (the
        # app's, sized and given the REST renderer by it).
        self.renders = Renders(messages.participant) if renders is None else renders

    def _caller(self, authorization: str | None) -> str:
        """The caller's account, once authenticated and within its rate limit."""
        account = self.auth.authenticate(authorization)
        if self.limiter is not None:
            self.limiter.take(account)
        return account

    def _conference_of(
        self, authorization: str | None, request: Message, parent: str
    ) -> ConferenceRef:
        """The caller's conference named by `parent` (of a request within its
        bounds); another account's is not found, exactly as a missing one is."""
        account = self._caller(authorization)
        limits.check(request)
        ref = names.parse_parent(parent)
        if account != ref.account_sid:
            raise errors.conference_not_found(f"conference {ref.key}")
        return ref

    def _participant_of(
        self, authorization: str | None, request: Message, name: str
    ) -> tuple[ConferenceRef, str]:
        """The caller's participant named by `name` (conference, call SID or
        label), of a request within its bounds."""
        account = self._caller(authorization)
        limits.check(request)
        ref, key = names.parse_name(name)
        if account != ref.account_sid:
            raise errors.participant_not_found(f"participant {key}")
        return ref, key

    @_admitted
    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse:
        ref = self._conference_of(authorization, request, request.parent)
        cmd = create_request.create_command(request, ref)
        if self.destinations is not None:
            await check_request(self.destinations, request)
        created, queue_ms = await self.participants.create(cmd)
        return pb.CreateParticipantResponse(participant=messages.participant(created, queue_ms))

    def watch_conference(
        self, request: pb.WatchConferenceRequest, authorization: str | None
    ) -> AsyncIterator[pb.WatchConferenceResponse | Prebuilt[pb.WatchConferenceResponse]]:
        """WatchConference: the same authentication, rate limit and tenancy
        as every other method, checked before the stream is returned (raises
        RollcallError); not admitted (a stream is not work in flight). The
        hub's stream itself is returned, not re-yielded (one generator hop
        less per event and watcher)."""
        ref = self._conference_of(authorization, request, request.parent)
        if self.watch is None:
            raise errors.internal("WatchConference is not wired on this server")
        return self.watch.watch(ref, request)

    def watch_account(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[pb.WatchAccountResponse | Prebuilt[pb.WatchAccountResponse]]:
        """WatchAccount: authenticated (the account's credentials or one of its
        watch tokens, Rule 4), rate-limited and bounded like WatchConference;
        the parent must be the caller's account (NOT_FOUND otherwise, as for a
        missing one). A token's stream ends when the token expires."""
        stream = self._account_stream(request, authorization, parts=False)
        return cast(
            AsyncIterator[pb.WatchAccountResponse | Prebuilt[pb.WatchAccountResponse]], stream
        )  # not asked for parts: no AccountEvent, no IDLE

    def watch_account_parts(
        self, request: pb.WatchAccountRequest, authorization: str | None
    ) -> AsyncIterator[pb.WatchAccountResponse | AccountEvent | Idle]:
        """watch_account for the in-process SSE face: events in parts, and
        IDLE before each wait (service.account_events)."""
        stream = self._account_stream(request, authorization, parts=True)
        return cast(AsyncIterator[pb.WatchAccountResponse | AccountEvent | Idle], stream)

    def _account_stream(
        self, request: pb.WatchAccountRequest, authorization: str | None, *, parts: bool
    ) -> AsyncIterator[AccountItem]:
        token = bearer(authorization)
        expires: float | None = None
        if token is not None and self.watch_tokens is not None:
            account, expires = self.watch_tokens.open(token)
            if self.limiter is not None:
                self.limiter.take(account)
        else:
            account = self._caller(authorization)
        limits.check(request)
        if names.parse_account(request.parent) != account:
            raise errors.not_found(f"account {names.parse_account(request.parent)}")
        if self.account_watch is None:
            raise errors.internal("WatchAccount is not wired on this server")
        stream = self.account_watch.watch(account, request, parts=parts)
        if expires is None or self.watch_tokens is None:
            return stream
        return until_expiry(stream, self.watch_tokens.clock, expires)

    @_admitted
    async def create_watch_token(
        self, request: pb.CreateWatchTokenRequest, authorization: str | None
    ) -> pb.CreateWatchTokenResponse:
        """A watch token for the caller's account (Rule 4): the caller's own
        credentials only, so a token never mints another."""
        account = self._caller(authorization)
        limits.check(request)
        if names.parse_account(request.parent) != account:
            raise errors.not_found(f"account {names.parse_account(request.parent)}")
        if self.watch_tokens is None:
            raise errors.internal("watch tokens are not wired on this server")
        token, expires = self.watch_tokens.mint(account)
        return pb.CreateWatchTokenResponse(
            token=token,
            expire_time=messages.timestamp(expires),
            ttl_seconds=self.watch_tokens.ttl_seconds,
        )

    @_admitted
    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> Prebuilt[pb.FetchParticipantResponse]:
        """The answer serialized, with the participant's rendered forms (service.renders)."""
        ref, key = self._participant_of(authorization, request, request.name)
        found = await self.participants.fetch(ref, key, include_ended=request.include_ended)
        return self.renders.fetched(found)

    @_admitted
    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> Prebuilt[pb.ListParticipantsResponse]:
        """The answer serialized, with the participants' rendered forms (service.renders)."""
        page, rest = await self._list(request, authorization)
        return self.renders.listed(page.participants, rest)

    async def _list(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> tuple[Page, pb.ListParticipantsResponse]:
        """The page, and the answer's other fields (tokens, revision)."""
        ref = self._conference_of(authorization, request, request.parent)
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            raise errors.invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        flt = ParticipantFilter(
            muted=request.muted if request.HasField("muted") else None,
            hold=request.hold if request.HasField("hold") else None,
            coaching=request.coaching if request.HasField("coaching") else None,
            include_ended=request.include_ended,
            attributes=attributes.parse_filter(request.attributes),
        )
        bound = binding(ref.account_sid, ref.key, flt)
        after, before = (
            self.page_tokens.open(request.page_token, bound) if request.page_token else (None, None)
        )
        page = await self.participants.list(
            ref,
            flt,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            after=after,
            before=before,
        )
        rest = pb.ListParticipantsResponse(
            next_page_token=(
                self.page_tokens.issue(page.next_after, None, bound)
                if page.next_after is not None
                else ""
            ),
            previous_page_token=(
                self.page_tokens.issue(None, page.previous_before, bound)
                if page.previous_before is not None
                else ""
            ),
            revision=page.revision,
        )
        return page, rest

    @_admitted
    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse:
        ref, key = self._participant_of(authorization, request, request.name)
        cmd = requests.update_command(request)
        if self.destinations is not None:
            await check_request(self.destinations, request)
        updated = await self.participants.update(ref, key, cmd)
        return pb.UpdateParticipantResponse(participant=messages.participant(updated))

    @_admitted
    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse:
        ref, key = self._participant_of(authorization, request, request.name)
        deleted = await self.participants.delete(ref, key, request.etag)
        return pb.DeleteParticipantResponse(participant=messages.participant(deleted))

    @_admitted
    async def move_participant(
        self, request: pb.MoveParticipantRequest, authorization: str | None
    ) -> pb.MoveParticipantResponse:
        ref, key = self._participant_of(authorization, request, request.name)
        cmd = requests.move_command(request, ref.account_sid)
        moved = await self.participants.move(ref, key, cmd)
        return pb.MoveParticipantResponse(
            participant=messages.participant(moved.participant),
            move_id=moved.move.id,
            moved_from_conference_sid=moved.move.from_conference,
        )

    @_admitted
    async def update_participants(
        self, request: pb.UpdateParticipantsRequest, authorization: str | None
    ) -> pb.UpdateParticipantsResponse:
        ref = self._conference_of(authorization, request, request.parent)
        cmd = requests.bulk_command(request)
        outcomes = await self.participants.update_many(ref, cmd)
        response = pb.UpdateParticipantsResponse()
        for outcome in outcomes:
            item = response.outcomes.add(key=outcome.key, changed=outcome.changed)
            if outcome.participant is not None:
                item.participant.CopyFrom(messages.participant(outcome.participant))
            if outcome.error is not None:
                item.error_reason = outcome.error.reason
                item.error_message = outcome.error.message
                item.twilio_code = outcome.error.twilio_code or 0
        return response
