"""Sending dead letters again, on request, in the order they were given up on.

Rule 1: only the asking account's dead letters are sent, one redelivery at a time.
Rule 2: each gets one attempt, signed afresh with the account's current auth token
        and carrying its original I-Twilio-Idempotency-Token and SequenceNumber.
Rule 3: one the receiver accepts is removed; one that fails again is kept (attempts
        and outcome updated) and holds back the rest of its conference, so a
        receiver never gets a conference's callbacks out of order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import aiohttp

from service.auth import Authenticator
from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.webhooks import metrics
from service.webhooks.params import Callback, Kind
from service.webhooks.sender import prepare, send

log = logging.getLogger("rollcall.webhooks")

_PAGE = 500


@dataclasses.dataclass(frozen=True)
class Redelivered:
    delivered: int
    remaining: int


class Redeliverer:
    def __init__(
        self, dead_letters: DeadLetterStore, auth: Authenticator, timeout_seconds: float
    ) -> None:
        self.dead_letters = dead_letters
        self.auth = auth
        self.timeout_seconds = timeout_seconds
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def redeliver(self, account_sid: str, conference_sid: str = "") -> Redelivered:
        async with self._lock:
            if self._session is None:
                self._session = aiohttp.ClientSession(raise_for_status=False)
            delivered = remaining = 0
            held: set[str] = set()  # conferences with one that failed again
            after = 0
            while True:
                letters = await self.dead_letters.list(
                    account_sid, conference_sid=conference_sid, after_id=after, limit=_PAGE
                )
                for letter in letters:
                    after = letter.id
                    if letter.conference_sid in held or not await self._send(letter):
                        held.add(letter.conference_sid)
                        remaining += 1
                    else:
                        delivered += 1
                if len(letters) < _PAGE:
                    break
            log.info(
                "dead letters redelivered",
                extra={"account": account_sid, "delivered": delivered, "remaining": remaining},
            )
            return Redelivered(delivered, remaining)

    async def _send(self, letter: DeadLetter) -> bool:
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
        outcome = await send(self._session, request, self.timeout_seconds)
        metrics.ATTEMPTS.labels(letter.kind, outcome.result).inc()
        if outcome.delivered:
            await self.dead_letters.delivered(letter.id)
            metrics.REDELIVERED.labels(letter.kind).inc()
            return True
        await self.dead_letters.failed_again(letter.id, outcome.detail)
        return False
