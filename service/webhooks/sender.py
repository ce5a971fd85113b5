"""One HTTP attempt of one callback, signed the way Twilio signs.

The rules it keeps (Twilio's callback requests): GET puts the
parameters in the query string, appended to the configured URL's own query,
and is signed over that whole URL with no parameters; POST sends a
form-encoded body and is signed over the configured URL exactly as given plus
the sorted parameters; the key is the account's auth token. The URL goes on
the wire byte for byte as signed (never re-encoded). Only a 2xx answer counts
as delivered; anything else, or no answer, is a failed attempt.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import aiohttp
import yarl
from twilio.request_validator import RequestValidator

from service.webhooks.params import Callback

USER_AGENT = "TwilioProxy/1.1"
FORM = "application/x-www-form-urlencoded"


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
    # Metrics label: ok, http_error or network_error.
    result: str


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


async def send(session: aiohttp.ClientSession, request: Request, timeout_seconds: float) -> Outcome:
    try:
        async with session.request(
            request.method,
            yarl.URL(request.url, encoded=True),
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as response:
            status = response.status
    except TimeoutError:
        return Outcome(False, "timeout", "network_error")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}", "network_error")
    if 200 <= status < 300:
        return Outcome(True, str(status), "ok")
    return Outcome(False, f"HTTP {status}", "http_error")
