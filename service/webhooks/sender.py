"""One HTTP attempt of one callback, signed the way Twilio signs.

Rule 1: GET appends the parameters to the configured URL's own query and is signed
        over that whole URL with no parameters; POST sends a form-encoded body and is
        signed over the configured URL exactly as given plus the sorted parameters;
        the key is the account's auth token.
Rule 2: the URL goes on the wire byte for byte as signed (never re-encoded), and
        redirects are not followed.
Rule 3: only a 2xx answer counts as delivered; anything else, or no answer, is a
        failed attempt.
Rule 4: given a DestinationPolicy (and a session resolving through its
        PolicyResolver), a refused destination is never connected to: that attempt
        is `refused`, which no retry can change.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import aiohttp
import yarl
from twilio.request_validator import RequestValidator

from service.webhooks.destinations import (
    DestinationPolicy,
    literal_host_refused,
    refused_cause,
)
from service.webhooks.params import Callback

USER_AGENT = "TwilioProxy/1.1"
FORM = "application/x-www-form-urlencoded"
REFUSED = "refused"


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Outcome:
    delivered: bool
    # `200`, `500`, `connection refused`, `timeout`: for logs and metrics.
    detail: str
    # Metrics label: ok, http_error, network_error or refused.
    result: str

    @property
    def refused(self) -> bool:
        return self.result == REFUSED


def prepare(
    callback: Callback, params: dict[str, str], token: str, auth_token: str | None
) -> Request:
    """The exact request for one callback (`params` includes SequenceNumber)."""
    headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": token}
    if callback.method == "GET":
        url = callback.url
        if params:
            separator = "&" if "?" in url else "?"
            if url.endswith(("?", "&")):
                separator = ""
            url = url + separator + urlencode(params)
        signed: dict[str, str] = {}
        body = None
    else:
        url = callback.url
        signed = params
        body = urlencode(params).encode()
        headers["Content-Type"] = FORM
    if auth_token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(auth_token).compute_signature(url, signed)
    return Request(callback.method, url, body, headers)


async def send(
    session: aiohttp.ClientSession,
    request: Request,
    timeout_seconds: float,
    destinations: DestinationPolicy | None = None,
) -> Outcome:
    """One attempt. `session` must resolve through a PolicyResolver for the same
    `destinations`; literal IP hosts, which aiohttp never resolves, are checked here."""
    try:
        url = yarl.URL(request.url, encoded=True)
        if destinations is not None and literal_host_refused(destinations, url.host):
            return Outcome(False, "destination not allowed", REFUSED)
        async with session.request(
            request.method,
            url,
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as response:
            status = response.status
    except TimeoutError:
        return Outcome(False, "timeout", "network_error")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        if refused_cause(exc):
            return Outcome(False, "destination not allowed", REFUSED)
        return Outcome(False, f"{type(exc).__name__}: {exc}", "network_error")
    if 200 <= status < 300:
        return Outcome(True, str(status), "ok")
    return Outcome(False, f"HTTP {status}", "http_error")
