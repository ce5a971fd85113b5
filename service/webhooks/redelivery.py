"""Sending dead letters again, on request, in the order they were given up on.

Rule 1: only the asking account's dead letters are sent, one redelivery at a time.
Rule 2: each gets one attempt, signed afresh with the account's current auth token
        and carrying its original I-Twilio-Idempotency-Token and SequenceNumber.
Rule 3: one the receiver accepts is removed; one that fails again is kept (attempts
        and outcome updated) and holds back the rest of its conference, so a
        receiver never gets a conference's callbacks out of order.
Rule 4: the callback destination policy holds here as at first delivery: the
        session resolves through its PolicyResolver and a literal IP is checked
        before connecting, so a dead letter whose host the policy refuses is never
        connected to; it is kept (outcome "destination not allowed"), holds back
        its conference like any other failure, and is counted as `refused`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import aiohttp

from service.auth import Authenticator
from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.webhooks import metrics
from service.webhooks.destinations import DestinationPolicy, PolicyResolver
from service.webhooks.params import Callback, Kind
from service.webhooks.sender import Outcome, prepare, send

log = logging.getLogger("rollcall.webhooks")

_PAGE = 500


@dataclasses.dataclass(frozen=True)
class Redelivered:
    delivered: int
    remaining: int
    # Of the remaining, those whose destination the policy refused.
    refused: int = 0


class Redeliverer:
    def __init__(
        self,
        dead_letters: DeadLetterStore,
        auth: Authenticator,
        timeout_seconds: float,
        destinations: DestinationPolicy,
    ) -> None:
        self.dead_letters = dead_letters
        self.auth = auth
        self.timeout_seconds = timeout_seconds
        self.destinations = destinations
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def redeliver(self, account_sid: str, conference_sid: str = "") -> Redelivered:
        async with self._lock:
            if self._session is None:
                # As the dispatcher's: every name resolves through the policy.
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(resolver=PolicyResolver(self.destinations)),
                    raise_for_status=False,
                )
            delivered = remaining = refused = 0
            held: set[str] = set()  # conferences with one that failed again
            after = 0
            while True:
                letters = await self.dead_letters.list(
                    account_sid, conference_sid=conference_sid, after_id=after, limit=_PAGE
                )
                for letter in letters:
                    after = letter.id
                    if letter.conference_sid in held:
                        remaining += 1
                        continue
                    outcome = await self._send(letter)
                    if outcome.delivered:
                        delivered += 1
                        continue
                    held.add(letter.conference_sid)
                    remaining += 1
                    refused += outcome.refused
                if len(letters) < _PAGE:
                    break
            log.info(
                "dead letters redelivered",
                extra={
                    "account": account_sid,
                    "delivered": delivered,
                    "remaining": remaining,
                    "refused": refused,
                },
            )
            return Redelivered(delivered, remaining, refused)

    async def _send(self, letter: DeadLetter) -> Outcome:
        assert self._session is not None
        callback = Callback(
            kind=Kind(letter.kind),
            url=letter.url,
            method=letter.method,
            params=letter.params,
            word=letter.callback_event,
            call_sid=letter.call_sid,
        )
        auth_token = self.auth.auth_token(letter.account_sid)
        request = prepare(callback, dict(letter.params), letter.token, auth_token)
        outcome = await send(self._session, request, self.timeout_seconds, self.destinations)
        metrics.ATTEMPTS.labels(letter.kind, outcome.result).inc()
        if outcome.delivered:
            await self.dead_letters.delivered(letter.id)
            metrics.REDELIVERED.labels(letter.kind).inc()
        else:
            if outcome.refused:
                metrics.REFUSED.labels(letter.kind).inc()
                log.error(
                    "dead letter not redelivered: destination not allowed",
                    extra={"account": letter.account_sid, "conference": letter.conference_sid},
                )
            await self.dead_letters.failed_again(letter.id, outcome.detail)
        return outcome
