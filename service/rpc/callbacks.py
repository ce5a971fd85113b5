"""CallbackService: list and redeliver an account's dead-lettered status callbacks.

Rule 1: every call authenticates and is rate limited like ParticipantService,
        then has its request bounds checked (service.rpc.limits).
Rule 2: `parent` must name the caller's own account (another answers NOT_FOUND,
        exactly as an unknown one does) and every query is scoped to it, so one
        tenant never learns of another's dead letters.
Rule 3: bad fields are INVALID_ARGUMENT with a BadRequest naming them; a listed
        dead letter's URL carries no credentials and no query.
Rule 4: a redelivery that found dead letters whose destination the callback
        destination policy refuses answers FAILED_PRECONDITION
        (CALLBACK_DESTINATION_NOT_ALLOWED, with the delivered, remaining and
        refused counts in its ErrorInfo), after sending the others as usual.
"""

from __future__ import annotations

import re

import grpc

from rollcall.v1 import callback_service_pb2 as pb
from rollcall.v1 import callback_service_pb2_grpc as pb_grpc
from service.auth import Authenticator
from service.core import errors
from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.ratelimit import RateLimiter
from service.rpc import limits, names
from service.rpc.messages import timestamp
from service.rpc.servicer import _unary
from service.webhooks.attempts import safe_url
from service.webhooks.redelivery import Redeliverer

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_TOKEN = re.compile(r"^DL([0-9]{1,18})$")


def _letter(letter: DeadLetter) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=letter.id,
        conference_sid=letter.conference_sid,
        revision=letter.revision,
        kind=letter.kind,
        call_sid=letter.call_sid or "",
        callback_event=letter.callback_event,
        method=letter.method,
        url=safe_url(letter.url),
        attempts=letter.attempts,
        last_outcome=letter.last_outcome,
        given_up_time=timestamp(letter.given_up_at),
        sequence_number=letter.params.get("SequenceNumber", ""),
    )


class CallbackApi:
    def __init__(
        self,
        auth: Authenticator,
        dead_letters: DeadLetterStore,
        redeliverer: Redeliverer,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.auth = auth
        self.dead_letters = dead_letters
        self.redeliverer = redeliverer
        self.limiter = limiter

    def _account(
        self,
        authorization: str | None,
        request: pb.ListDeadLettersRequest | pb.RedeliverDeadLettersRequest,
    ) -> str:
        account = self.auth.authenticate(authorization)
        if self.limiter is not None:
            self.limiter.take(account)
        limits.check(request)
        parent, conference_sid = request.parent, request.conference_sid
        named = names.parse_account(parent)
        if named != account:
            raise errors.not_found(f"account {named}", "ACCOUNT_NOT_FOUND")
        if conference_sid and not names.CONFERENCE_SID.match(conference_sid):
            raise errors.invalid_field("conference_sid", "must be CF followed by 32 hex digits")
        return account

    async def list_dead_letters(
        self, request: pb.ListDeadLettersRequest, authorization: str | None
    ) -> pb.ListDeadLettersResponse:
        account = self._account(authorization, request)
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            raise errors.invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        after = 0
        if request.page_token:
            token = _TOKEN.match(request.page_token)
            if token is None:
                raise errors.invalid_field("page_token", "not a page token this service issued")
            after = int(token.group(1))
        size = request.page_size or DEFAULT_PAGE_SIZE
        letters = await self.dead_letters.list(
            account, conference_sid=request.conference_sid, after_id=after, limit=size + 1
        )
        more = len(letters) > size
        letters = letters[:size]
        return pb.ListDeadLettersResponse(
            dead_letters=[_letter(letter) for letter in letters],
            next_page_token=f"DL{letters[-1].id}" if more else "",
        )

    async def redeliver_dead_letters(
        self, request: pb.RedeliverDeadLettersRequest, authorization: str | None
    ) -> pb.RedeliverDeadLettersResponse:
        account = self._account(authorization, request)
        outcome = await self.redeliverer.redeliver(account, request.conference_sid)
        if outcome.refused:
            raise errors.callback_destination_refused(
                outcome.refused, outcome.delivered, outcome.remaining
            )
        return pb.RedeliverDeadLettersResponse(
            delivered=outcome.delivered, remaining=outcome.remaining
        )


class CallbackServicer(pb_grpc.CallbackServiceServicer):
    def __init__(self, api: CallbackApi) -> None:
        self.api = api

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        return await _unary(self.api.list_dead_letters, request, context)

    async def RedeliverDeadLetters(
        self, request: pb.RedeliverDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.RedeliverDeadLettersResponse:
        return await _unary(self.api.redeliver_dead_letters, request, context)
