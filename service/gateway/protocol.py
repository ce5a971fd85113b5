"""The gateway's HTTP connections: aiohttp's protocol with Twilio errors and deadlines.

Rule 1: every HTTP error the gateway sends, including what aiohttp refuses before
        any route runs (oversized request line or header, too many headers,
        unknown method, malformed framing, an `Expect` other than 100-continue), is
        a Twilio error with a fixed message that never echoes the client's bytes:
        in the representation the request's URI asks for (representation.in_kind),
        or JSON when aiohttp refused the request before its URI was read.
Rule 2: a client's malformed request is at most one short DEBUG line in the log,
        never a traceback.
Rule 3: a client gets `header_timeout` seconds for a complete request head (from
        connecting, or from the first byte of a later request on a keep-alive
        connection), then `body_timeout` seconds for the body; an idle keep-alive
        connection closes after `idle_timeout` (0 disables one).
Rule 4: each request says who is calling (service.logins: face rest, the
        client's address) before any route runs.
Rule 5: every request, refused ones included, is logged, counted and traced
        once (service.gateway.observe).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

from aiohttp import hdrs, http_exceptions, web, web_protocol, web_server
from aiohttp.http import HttpVersion11
from aiohttp.streams import StreamReader

from service import logins
from service.config import Settings
from service.gateway import observe, representation
from service.gateway.errors import (
    INTERNAL_CODE,
    UNAVAILABLE_CODE,
    BodyTimeoutError,
    Handler,
    error_body,
    error_response,
    is_client_fault,
    twilio_errors,
)

log = logging.getLogger("rollcall.gateway.http")

TIMEOUT_STATUS = 408
_HEAD_TIMEOUT_MESSAGE = "The request head was not received in time"


@dataclasses.dataclass(frozen=True)
class HttpLimits:
    """Per-connection deadlines, in seconds; 0 disables one."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 75.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            idle_timeout=settings.http_idle_timeout_seconds,
        )


def parse_problem(exc: BaseException | None, handler: web_protocol.RequestHandler) -> str:
    """A fixed description of a malformed request: aiohttp's own messages quote
    the offending bytes, so none of them is passed on."""
    if isinstance(exc, http_exceptions.LineTooLong):
        return f"Request line or header field too long (at most {handler.max_line_size} bytes)"
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return "Unknown or malformed HTTP method"
    if isinstance(exc, http_exceptions.BadStatusLine):
        return "Malformed request line"
    if isinstance(exc, http_exceptions.InvalidURLError):
        return "Malformed request target"
    if isinstance(exc, http_exceptions.InvalidHeader):
        return "Malformed header field"
    if isinstance(exc, http_exceptions.ContentEncodingError):
        return "Request body does not match its Content-Encoding"
    if isinstance(exc, http_exceptions.TransferEncodingError | http_exceptions.ContentLengthError):
        return "Malformed message framing (Content-Length or Transfer-Encoding)"
    if (
        isinstance(exc, http_exceptions.BadHttpMessage)
        and exc.message == "Too many headers received"
    ):
        return f"Too many header fields (at most {handler.max_headers})"
    return "Malformed HTTP request"


def _raw_error(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 error response, for when no request object exists."""
    body = json.dumps(error_body(status, status, message)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class GatewayRequestHandler(web_protocol.RequestHandler):
    """aiohttp's HTTP/1.1 protocol with Twilio errors, quiet client faults and deadlines."""

    def __init__(self, manager: web_server.Server, *, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(manager, keepalive_timeout=limits.idle_timeout, **kwargs)
        self._limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = False
        self._body: StreamReader | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # -- deadlines -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            # A request head is complete (or was refused as malformed).
            self._cancel_head_timer()
            if self._messages:
                payload = self._messages[-1][1]
                if not payload.is_eof():
                    self._watch_body(payload)
        elif (
            data
            and (self._body is None or self._body.is_eof())
            and not self._request_in_progress
            and not self._messages
        ):
            # The first bytes of a request head: it must be complete in time.
            self._head_bytes = True
            if self._head_timer is None:
                self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._limits.header_timeout > 0:
            self._head_timer = self._loop.call_later(
                self._limits.header_timeout, self._head_timed_out
            )

    def _cancel_head_timer(self) -> None:
        self._head_bytes = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or self._request_in_progress or self._messages:
            return
        log.debug("closing a connection whose request head did not arrive in time")
        if self._head_bytes and not transport.is_closing():
            transport.write(_raw_error(TIMEOUT_STATUS, "Request Timeout", _HEAD_TIMEOUT_MESSAGE))
        self.force_close()

    def _watch_body(self, payload: StreamReader) -> None:
        self._cancel_body_timer()
        self._body = payload
        if self._limits.body_timeout > 0:
            self._body_timer = self._loop.call_later(
                self._limits.body_timeout, self._body_timed_out, payload
            )
            payload.on_eof(self._cancel_body_timer)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_timed_out(self, payload: StreamReader) -> None:
        self._body_timer = None
        if payload.is_eof():
            return
        log.debug("request body did not arrive in time")
        # The handler reading the body gets the error and answers 408; the
        # connection closes after that response.
        payload.set_exception(BodyTimeoutError())
        self.close()

    # -- errors ------------------------------------------------------------------

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send an error")
        if status >= 500:
            log.error("unhandled error in the HTTP server", exc_info=exc)
            code = UNAVAILABLE_CODE if status == 503 else INTERNAL_CODE
            text = "Service Unavailable" if status == 503 else "Internal Server Error"
            if status == 504:
                code, text = status, "Gateway Timeout"
        else:
            code = status
            text = parse_problem(exc, self)
            log.debug("malformed HTTP request refused: %s", text)
        response = error_response(status, code, text)
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        """aiohttp reports here, with a traceback, what a client caused (a body that
        failed to decode or timed out while it drained the rest of it, a client
        that left): those become one short DEBUG line."""
        exc = kwargs.get("exc_info")
        if isinstance(exc, BaseException) and is_client_fault(exc):
            log.debug("HTTP connection closed after a client error: %s", type(exc).__name__)
            return
        super().log_exception(*args, **kwargs)


def outside_middleware(handler: Handler) -> Handler:
    """The application as the server calls it, answering in Twilio's shape
    whatever fails inside it (errors.twilio_errors) and what aiohttp refuses
    before any handler runs, every error in the representation the URI asks
    for. An `Expect` other than 100-continue is refused here: aiohttp's own
    417 quotes the header (and fails with a 500 on bytes that are not text)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await observe.observed(request, answer)

    async def answer(request: web.Request) -> web.StreamResponse:
        # Who is calling, for the throttle of failed logins (in this request's task).
        logins.calling(
            "rest",
            logins.source_of(request.remote),
            peer=request.remote or "",
            forwarded=request.headers.get("X-Forwarded-For", ""),
            request_id=request.headers.get("X-Request-Id", ""),
        )
        expect = request.headers.get(hdrs.EXPECT)
        if expect and request.version == HttpVersion11 and expect.lower() != "100-continue":
            refused = error_response(417, None, "Only 'Expect: 100-continue' is supported")
            refused.force_close()
            return representation.in_kind(request, refused)
        return representation.in_kind(request, await twilio_errors(request, handler))

    return handle


class GatewayServer(web_server.Server):
    """aiohttp's low-level server, making GatewayRequestHandler connections."""

    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def __call__(self) -> GatewayRequestHandler:
        return GatewayRequestHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose server speaks through GatewayRequestHandler."""

    def __init__(self, app: web.Application, *, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web_server.Server:
        plain = await super()._make_server()  # runs the app's startup and freezes it
        return GatewayServer(
            outside_middleware(plain.request_handler),
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            limits=self._limits,
            **plain._kwargs,
        )
