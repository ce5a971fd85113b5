"""The HTTP side of carrier callbacks: authenticate, parse, hand over, answer.

Rule 1: a callback is believed only when its X-Twilio-Signature validates
        (twilio's RequestValidator, keyed by the upstream account's auth token)
        against the configured public URL of the route, never the Host header
        it arrived with.
Rule 2: a refused one answers 403 and is logged without the signature, the token
        or the form; a malformed one answers 400.
Rule 3: a 2xx goes out only after `apply` has returned, so the carrier retries
        after any failure (a 500); `apply` dedups by the idempotency token it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from twilio.request_validator import RequestValidator

from service.carriers.twilio import metrics
from service.carriers.twilio.forms import CallbackUrls
from service.carriers.twilio.parse import (
    SIGNATURE_HEADER,
    Malformed,
    idempotency_token,
    parse_report,
)
from service.core.ports.carrier import Report

log = logging.getLogger("rollcall.carrier.ingest")

CALL_STATUS_PATH = "/carrier/twilio/call-status"
CONFERENCE_STATUS_PATH = "/carrier/twilio/conference-status"
# Twilio's callbacks are small; anything bigger is not one.
MAX_BODY_BYTES = 64 * 1024

# apply(report, idempotency token or None): commit the report (dedup by token).
Apply = Callable[[Report, str | None], Awaitable[None]]
# The auth token that signs callbacks of an upstream account SID (None: unknown).
TokenLookup = Callable[[str], str | None]


def callback_urls(public_base_url: str) -> CallbackUrls:
    base = public_base_url.rstrip("/")
    return CallbackUrls(base + CALL_STATUS_PATH, base + CONFERENCE_STATUS_PATH)


def signed_url(public_base_url: str, request: web.BaseRequest) -> str:
    """The URL the carrier was told to call: public base + the path and query as sent."""
    return public_base_url.rstrip("/") + request.raw_path


# The public base URL, or how to read it once known (a server on an ephemeral port).
PublicBase = str | Callable[[], str]


def make_handler(
    public_base: PublicBase, auth_token_for: TokenLookup, apply: Apply
) -> Callable[[web.Request], Awaitable[web.Response]]:
    def public_base_url() -> str:
        return public_base if isinstance(public_base, str) else public_base()

    async def handle(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.Response(status=413)
        form = await request.post()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        account_sid = form.get("AccountSid")
        token = auth_token_for(account_sid) if isinstance(account_sid, str) else None
        if not signature or token is None:
            log.warning(
                "carrier callback refused: %s",
                "no signature" if not signature else "unknown account",
                extra={"path": request.path},
            )
            metrics.CALLBACKS.labels("refused").inc()
            return web.Response(status=403)
        if not RequestValidator(token).validate(
            signed_url(public_base_url(), request), form, signature
        ):
            log.warning("carrier callback refused: bad signature", extra={"path": request.path})
            metrics.CALLBACKS.labels("refused").inc()
            return web.Response(status=403)
        text_form = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            report = parse_report(text_form)
        except Malformed as exc:
            log.warning("carrier callback malformed: %s", exc, extra={"path": request.path})
            metrics.CALLBACKS.labels("malformed").inc()
            return web.Response(status=400, text=str(exc))
        try:
            await apply(report, idempotency_token(request.headers))
        except Exception:
            # Not committed: a non-2xx makes the carrier send it again.
            log.exception("carrier callback not applied", extra={"path": request.path})
            metrics.CALLBACKS.labels("failed").inc()
            return web.Response(status=500)
        metrics.CALLBACKS.labels("applied").inc()
        return web.Response(status=204)

    return handle


def add_routes(
    app: web.Application, public_base: PublicBase, auth_token_for: TokenLookup, apply: Apply
) -> None:
    """Mount both callback routes (POST) on an aiohttp application."""
    handler = make_handler(public_base, auth_token_for, apply)
    app.router.add_post(CALL_STATUS_PATH, handler)
    app.router.add_post(CONFERENCE_STATUS_PATH, handler)
