"""One upstream HTTP exchange with a Twilio-compatible API, and its retry rule.

Rule 1: only a 429 (after its Retry-After, when given) and a failure in the
        connection phase (refused, DNS, connect timeout: nothing reached the carrier)
        are retried, with exponential backoff and full jitter, until the deadline.
Rule 2: a read timeout or a connection dropped after the request was sent is
        Ambiguous (the carrier may have acted): never retried here; the caller decides.
Rule 3: no credential reaches a log or an error.
Rule 4: each attempt is a CLIENT span and carries its `traceparent` (service.tracing).
Rule 5: an exchange authenticates with Basic auth per upstream account, sends a form
        and reads JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from service import tracing
from service.carriers.twilio import errors, metrics
from service.carriers.twilio.config import TwilioOptions, UpstreamAccount
from service.carriers.twilio.pacing import Sleep, backoff
from service.clock import Clock

log = logging.getLogger("rollcall.carrier")

API_VERSION = "2010-04-01"
FORM = "application/x-www-form-urlencoded"
# An attempt started just before the deadline still gets this long.
_MIN_ATTEMPT_SECONDS = 0.05


class Ambiguous(Exception):
    """The request may have reached the carrier, but no answer came back."""


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _retry_after(headers: Any, cap: float) -> float | None:
    raw = headers.get("Retry-After")
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    if value is None or not value >= 0:
        return None
    return min(value, cap)


class TwilioHttp:
    def __init__(
        self,
        options: TwilioOptions,
        clock: Clock,
        sleep: Sleep,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.options = options
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.options.request_timeout_seconds,
                    connect=self.options.connect_timeout_seconds,
                ),
                raise_for_status=False,
            )
        return self._session

    def _timeout(self, deadline: float) -> aiohttp.ClientTimeout:
        """One attempt's timeouts, never running past the operation's deadline."""
        left = max(_MIN_ATTEMPT_SECONDS, deadline - self._clock.now())
        return aiohttp.ClientTimeout(
            total=min(self.options.request_timeout_seconds, left),
            connect=min(self.options.connect_timeout_seconds, left),
        )

    def url(self, account: UpstreamAccount, path: str) -> str:
        base = self.options.base_url.rstrip("/")
        return f"{base}/{API_VERSION}/Accounts/{account.account_sid}/{path}"

    async def send(
        self,
        account: UpstreamAccount,
        method: str,
        path: str,
        form: Sequence[tuple[str, str]] | None = None,
        *,
        deadline: float,
        query: Sequence[tuple[str, str]] | None = None,
    ) -> Answer:
        """One request, retried on 429 and connection-phase failures until `deadline`.

        Raises Ambiguous (see the module rule), or RollcallError
        CARRIER_UNAVAILABLE / CARRIER_RATE_LIMITED once the deadline passes.
        """
        url = self.url(account, path)
        user, password = account.basic_auth
        body = urlencode(list(form)).encode() if form is not None else None
        headers = {
            "Accept": "application/json",
            "Authorization": "Basic "
            + base64.b64encode(f"{user}:{password}".encode()).decode("ascii"),
        }
        if body is not None:
            headers["Content-Type"] = FORM
        attempt = 0
        while True:
            wait: float | None
            attributes = {"http.request.method": method, "rollcall.attempt": attempt + 1}
            with tracing.span(f"carrier {method}", "client", attributes) as span:
                sent = dict(headers)
                tracing.inject(sent)
                try:
                    async with self._client().request(
                        method,
                        url,
                        params=list(query) if query else None,
                        data=body,
                        headers=sent,
                        allow_redirects=False,
                        timeout=self._timeout(deadline),
                    ) as response:
                        raw = await response.read()
                        status = response.status
                        span.set_attribute("http.response.status_code", status)
                        if status >= 500 or status == 429:
                            span.fail(f"HTTP {status}")
                        metrics.REQUESTS.labels(method, metrics.status_class(status)).inc()
                        if status != 429:
                            return Answer(status, _json(raw))
                        wait = _retry_after(response.headers, self.options.backoff_max_seconds)
                        failure = "HTTP 429"
                except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                    # Connection phase: the request never reached the carrier.
                    metrics.REQUESTS.labels(method, "connect_error").inc()
                    span.fail(type(exc).__name__)
                    wait, failure = None, type(exc).__name__
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    metrics.REQUESTS.labels(method, "lost_answer").inc()
                    span.fail(type(exc).__name__)
                    log.warning(
                        "carrier answer lost", extra={"method": method, "error": type(exc).__name__}
                    )
                    raise Ambiguous(type(exc).__name__) from exc
            if wait is None:
                wait = backoff(
                    attempt,
                    self.options.backoff_seconds,
                    self.options.backoff_max_seconds,
                    self._rand,
                )
            attempt += 1
            if self._clock.now() + wait >= deadline:
                if failure == "HTTP 429":
                    raise errors.carrier_rate_limited()
                raise errors.carrier_unavailable(failure)
            log.info(
                "carrier request retried",
                extra={"method": method, "failure": failure, "attempt": attempt},
            )
            await self._sleep(wait)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
