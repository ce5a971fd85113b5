"""The attempts at one status callback: retries with backoff, then a dead letter.

Rule 1: a failing receiver is retried with exponential backoff (Policy) on
        the injected clock, up to max_attempts (over an hour by default),
        then logged, counted and kept as a dead letter (given a dead-letter
        store).
Rule 2: a destination the DestinationPolicy refuses is logged, counted and
        skipped at once, never retried.
Rule 3: each attempt is a CLIENT span under the commit that woke its lane,
        and its request carries that span's `traceparent` (service.tracing).
Rule 4: a callback URL is logged only through safe_url: no credentials, no query.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING

import aiohttp
import yarl

from service import tracing
from service.auth import Authenticator
from service.clock import Clock
from service.core.events import Event
from service.core.ports.dead_letters import DeadLetter, DeadLetterStore
from service.webhooks import metrics
from service.webhooks.destinations import OPEN, DestinationPolicy
from service.webhooks.lanes import Lane
from service.webhooks.params import Callback
from service.webhooks.sender import prepare, send

__all__ = ["CallbackAttempts", "Policy", "safe_url"]

log = logging.getLogger("rollcall.webhooks")


@dataclasses.dataclass(frozen=True)
class Policy:
    # 1+2+4+8+16+32 s, then 59 waits of 60 s: 3,603 s between first and last attempt.
    max_attempts: int = 66
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    timeout_seconds: float = 10.0
    destinations: DestinationPolicy = OPEN

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


class CallbackAttempts:
    """The attempts of WebhookDispatcher (which provides its session, its
    signal and the state below)."""

    auth: Authenticator
    clock: Clock
    policy: Policy
    dead_letters: DeadLetterStore | None
    _session: aiohttp.ClientSession | None
    _retrying: int

    if TYPE_CHECKING:  # the dispatcher's own, declared here for the type checker only

        def _signal(self) -> None: ...

    async def _deliver(
        self, lane: Lane, event: Event, callback: Callback, params: dict[str, str]
    ) -> None:
        assert self._session is not None
        token = callback.idempotency_token(lane.sid, event.revision)
        auth_token = self.auth.auth_token(lane.account_sid)
        if auth_token is None:
            log.warning(
                "account has no auth token: status callback sent unsigned",
                extra={"account": lane.account_sid, "conference": lane.sid},
            )
        request = prepare(callback, params, token, auth_token)
        where = safe_url(callback.url)
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            attributes = {
                "http.request.method": request.method,
                "rollcall.callback.kind": callback.kind.value,
                "rollcall.callback.event": callback.word,
                "rollcall.conference_sid": lane.sid,
                "rollcall.attempt": attempt,
            }
            with tracing.span("status callback", "client", attributes, parent=lane.origin) as span:
                tracing.inject(request.headers)
                outcome = await send(
                    self._session, request, policy.timeout_seconds, policy.destinations
                )
                span.set_attribute("rollcall.callback.result", outcome.result)
                if not outcome.delivered:
                    span.fail(outcome.detail)
            metrics.ATTEMPTS.labels(callback.kind.value, outcome.result).inc()
            facts = {
                "conference": lane.sid,
                "revision": event.revision,
                "kind": callback.kind.value,
                "callback_event": callback.word,
                "url": where,
                "attempt": attempt,
                "outcome": outcome.detail,
            }
            if outcome.delivered:
                metrics.DELIVERED.labels(callback.kind.value).inc()
                lane.since = self.clock.now()
                log.debug("status callback delivered", extra=facts)
                return
            if outcome.refused:
                metrics.REFUSED.labels(callback.kind.value).inc()
                log.error("status callback refused: destination not allowed", extra=facts)
                return
            if attempt == policy.max_attempts:
                metrics.FAILED.labels(callback.kind.value).inc()
                log.error("status callback given up after the last attempt", extra=facts)
                if self.dead_letters is not None:
                    await self.dead_letters.add(
                        DeadLetter(
                            account_sid=lane.account_sid,
                            conference_sid=lane.sid,
                            revision=event.revision,
                            kind=callback.kind.value,
                            call_sid=callback.call_sid,
                            callback_event=callback.word,
                            method=callback.method,
                            url=callback.url,
                            params=params,
                            token=token,
                            attempts=attempt,
                            last_outcome=outcome.detail,
                            given_up_at=self.clock.now(),
                        )
                    )
                    metrics.DEAD_LETTERED.labels(callback.kind.value).inc()
                return
            delay = policy.backoff(attempt)
            log.warning("status callback failed; retrying", extra={**facts, "retry_in": delay})
            metrics.RETRYING.inc()
            self._retrying += 1
            self._signal()
            try:
                await self._sleep(delay)
            finally:
                metrics.RETRYING.dec()
                self._retrying -= 1
                self._signal()

    async def _sleep(self, seconds: float) -> None:
        due = asyncio.Event()
        timer = self.clock.call_later(seconds, due.set)
        try:
            await due.wait()
        finally:
            timer.cancel()


def safe_url(url: str) -> str:
    """The callback URL for logs: no credentials, no query string."""
    try:
        parsed = yarl.URL(url, encoded=True)
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except ValueError:
        return "<unparsable url>"
