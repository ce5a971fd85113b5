"""Every failure of the gateway as Twilio's legacy error JSON.

Rule 1: an error response is always `{"code", "message", "more_info", "status"}`
        with Twilio's code and HTTP status (never RFC 9457's type+title, which
        would make the SDKs raise the wrong exception); the HTTP status stands in
        when the RollcallError names no Twilio code.
Rule 2: not-found always reads "The requested resource <path> was not found" (a
        malformed name in the path is one too), a stale etag is 412, a 401
        always carries WWW-Authenticate, and a 429 that says when to retry
        carries Retry-After (seconds).
Rule 3: a fault is logged here and answered 500/20500 with no detail in the body;
        an upstream 5xx is logged too and answered with its status's generic text.
Rule 4: what a client caused (a body that does not decode, too many form fields,
        a late body, a client that left mid-body) is a 4xx and at most one short
        DEBUG line, never a traceback.
Rule 5: every error is built here as an ErrorResponse (JSON) and dressed for the
        representation its URI asks for only on its way out
        (representation.in_kind, called by protocol.outside_middleware).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import http_exceptions, web
from aiohttp.web_protocol import RequestPayloadError

from service.core.errors import Code, RollcallError
from service.gateway.participant_forms import twilio_name

log = logging.getLogger(__name__)

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
WWW_AUTHENTICATE = 'Basic realm="Twilio API"'

NOT_FOUND_CODE = 20404
METHOD_NOT_ALLOWED_CODE = 20004
INTERNAL_CODE = 20500
UNAVAILABLE_CODE = 20503

_GENERIC_MESSAGES = {
    413: "Request body too large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# aiohttp's text for its form field limit (`client_max_fields`), the one 413
# that is not about the body's size.
_TOO_MANY_FIELDS_TEXT = "Maximum number of form fields"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BodyTimeoutError(Exception):
    """The request body did not arrive within the gateway's body timeout."""


def is_client_fault(exc: BaseException) -> bool:
    """Failures a client causes while sending a request (not faults of ours)."""
    return isinstance(
        exc,
        RequestPayloadError
        | BodyTimeoutError
        | ConnectionError
        | http_exceptions.HttpProcessingError,
    )


def error_body(status: int, code: int, message: str) -> dict[str, object]:
    return {
        "code": code,
        "message": message,
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }


class ErrorResponse(web.Response):
    """A Twilio error as JSON; `error` is its body, for another representation."""

    def __init__(self, error: dict[str, object], status: int, headers: Mapping[str, str]) -> None:
        super().__init__(
            text=json.dumps(error),
            status=status,
            headers=headers,
            content_type="application/json",
        )
        self.error = error


def error_response(
    status: int,
    code: int | None,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> ErrorResponse:
    twilio_code = status if code is None else code
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return ErrorResponse(error_body(status, twilio_code, message), status, all_headers)


def not_found_message(request: web.Request) -> str:
    return f"The requested resource {request.rel_url.raw_path} was not found"


def _is_bad_path(error: RollcallError) -> bool:
    """A malformed resource name in the URL path is, over HTTP, an unknown resource."""
    return error.code is Code.INVALID_ARGUMENT and any(
        v.field in ("parent", "name") for v in error.violations
    )


def rest_message(error: RollcallError) -> str:
    """The error's message, bad fields named by Twilio's parameters (`To`, not
    `to_endpoint`): REST callers never see proto field names."""
    by_proto = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
    if not error.violations or error.message != by_proto:
        return error.message  # its own words (label_in_use), or no field named
    return "; ".join(f"{twilio_name(v.field)}: {v.description}" for v in error.violations)


def rollcall_error_response(error: RollcallError, request: web.Request) -> ErrorResponse:
    status, code, message = error.http_status, error.twilio_code, rest_message(error)
    retry_after = error.metadata.get("retry_after_seconds")
    if status == 429 and retry_after is not None and retry_after.isdigit():
        return error_response(status, code, message, {"Retry-After": retry_after})
    if error.code is Code.NOT_FOUND or _is_bad_path(error):
        status, code, message = 404, NOT_FOUND_CODE, not_found_message(request)
    elif error.code is Code.ABORTED and error.reason == "ETAG_MISMATCH":
        status = 412
    elif status >= 500:
        # Internal detail stays in the log; the caller gets the generic text.
        log.error(
            "upstream failure on %s %s: %s %s: %s",
            request.method,
            request.rel_url.raw_path,
            error.code.value,
            error.reason,
            error.message,
        )
        if code is None:
            code = UNAVAILABLE_CODE if status == 503 else INTERNAL_CODE
        message = _GENERIC_MESSAGES.get(status, _GENERIC_MESSAGES[500])
    retry_after = error.metadata.get("retry_after_seconds", "")
    if status == 429 and retry_after.isdigit():
        return error_response(status, code, message, headers={"Retry-After": retry_after})
    return error_response(status, code, message)


def http_exception_response(exc: web.HTTPException, request: web.Request) -> ErrorResponse:
    """aiohttp's own refusals (no route, wrong method, body too large) in Twilio's shape."""
    status = exc.status
    if status == 404:
        return error_response(404, NOT_FOUND_CODE, not_found_message(request))
    if status == 405:
        allow = exc.headers.get("Allow")
        return error_response(
            405,
            METHOD_NOT_ALLOWED_CODE,
            f"Method {request.method} is not allowed on {request.rel_url.raw_path}",
            {"Allow": allow} if allow else None,
        )
    if status == 413 and (exc.text or "").startswith(_TOO_MANY_FIELDS_TEXT):
        return error_response(
            400, None, f"Too many form fields (at most {request.client_max_fields})"
        )
    message = _GENERIC_MESSAGES.get(status) or exc.reason
    return error_response(status, None, message)


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def client_fault_response(exc: Exception, request: web.Request) -> ErrorResponse:
    """A request the client broke while sending it: 400 or 408, and the connection
    closes (the rest of the body cannot be trusted or will not come)."""
    if isinstance(exc, BodyTimeoutError):
        response = error_response(408, None, "The request body was not received in time")
    elif isinstance(exc, RequestPayloadError) and isinstance(
        exc.__cause__, http_exceptions.ContentEncodingError
    ):
        response = error_response(400, None, "Request body does not match its Content-Encoding")
    else:
        response = error_response(400, None, "Malformed request body")
    log.debug(
        "request body refused on %s: %s (%s)",
        request.method,
        response.status,
        type(exc).__name__,
    )
    response.force_close()
    return response


async def twilio_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The application's handler, outermost (protocol.outside_middleware calls
    it around the whole application, not as an aiohttp middleware, which would
    cost two more layers per request): nothing leaves the gateway in any other
    error shape."""
    try:
        return await handler(request)
    except RollcallError as error:
        return rollcall_error_response(error, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return http_exception_response(exc, request)
    except (RequestPayloadError, BodyTimeoutError) as exc:
        return client_fault_response(exc, request)
    except ConnectionError as exc:
        if not _client_gone(request):
            return _fault(request)
        # The client left mid-request: nobody reads this answer.
        return client_fault_response(exc, request)
    except Exception:
        return _fault(request)


def _fault(request: web.Request) -> ErrorResponse:
    log.exception("unhandled error on %s %s", request.method, request.rel_url.raw_path)
    return error_response(500, INTERNAL_CODE, _GENERIC_MESSAGES[500])
