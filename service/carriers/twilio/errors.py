"""Typed errors for a carrier's answers: its Twilio error JSON becomes a RollcallError.

Rule 1: a refusal carries the carrier's own Twilio code, never an upstream account
        SID, path or credential (a 404's message is not passed on); a bad To or
        From is INVALID_ARGUMENT naming that field.
Rule 2: a carrier that cannot be reached within the adapter's bound, or answers
        5xx, is UNAVAILABLE with reason CARRIER_UNAVAILABLE; one that refuses
        Rollcall's credentials (401, 403) is UNAVAILABLE too: not the caller's fault.
Rule 3: Too Many Requests is RESOURCE_EXHAUSTED (CARRIER_RATE_LIMITED, Twilio 20429).
"""

from __future__ import annotations

import math
from typing import Any

from service.core import errors
from service.core.errors import Code, RollcallError

# Twilio codes that name a bad To or From (the same as POST /Calls).
_FIELD_CODES = {
    21211: "to_endpoint",
    21214: "to_endpoint",
    21215: "to_endpoint",
    21216: "to_endpoint",
    21217: "to_endpoint",
    21219: "to_endpoint",
    21201: "to_endpoint",
    21210: "from_endpoint",
    21212: "from_endpoint",
    21213: "from_endpoint",
}
_STATE_CODES = {16022, 16027, 16028, 21220, 16001, 16099}


def carrier_unavailable(detail: str) -> RollcallError:
    return RollcallError(
        Code.UNAVAILABLE,
        "CARRIER_UNAVAILABLE",
        f"The carrier could not be reached: {detail}",
        twilio_code=20503,
        http_status=503,
    )


def carrier_cannot(what: str) -> RollcallError:
    """A change this carrier has no way to carry out, refused before it is asked."""
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CARRIER_CANNOT",
        f"This carrier cannot {what}",
        twilio_code=None,
        http_status=400,
    )


def carrier_paced(calls_per_second: float) -> RollcallError:
    """More calls wait for this upstream account than its pace places in time."""
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "CARRIER_CALLS_PER_SECOND",
        f"More calls are waiting for this upstream account than {calls_per_second:g} calls"
        " per second places within the carrier timeout; retry later",
        twilio_code=20429,
        http_status=429,
        # One call's turn at that pace.
        metadata={"retry_after_seconds": str(math.ceil(1 / max(calls_per_second, 1.0)))},
    )


def carrier_rate_limited() -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "CARRIER_RATE_LIMITED",
        "The carrier kept answering Too Many Requests",
        twilio_code=20429,
        http_status=429,
        metadata={"retry_after_seconds": "1"},
    )


def carrier_not_configured(account_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CARRIER_NOT_CONFIGURED",
        "No carrier credentials are configured for this account",
        twilio_code=20005,
        http_status=403,
        metadata={"account_sid": account_sid},
    )


def from_carrier(status: int, body: Any) -> RollcallError:
    """The RollcallError for a carrier's non-2xx answer (status, parsed JSON or None)."""
    code: int | None = None
    message = ""
    if isinstance(body, dict):
        raw = body.get("code")
        code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        text = body.get("message")
        message = text if isinstance(text, str) else ""
    if status in (401, 403):
        # Rollcall's own upstream credentials were refused: not the caller's fault.
        return RollcallError(
            Code.UNAVAILABLE,
            "CARRIER_CREDENTIALS_REJECTED",
            "The carrier refused Rollcall's credentials for this account",
            twilio_code=code,
            http_status=503,
            metadata={"carrier_status": str(status)},
        )
    if status == 429:
        return carrier_rate_limited()
    if status >= 500:
        return carrier_unavailable(f"HTTP {status}")
    if code is None:
        code = status
    meta = {"carrier_status": str(status)}
    described = f"The carrier refused the request (Twilio error {code})"
    if message and status != 404:
        described = f"{described}: {message}"
    field = _FIELD_CODES.get(code)
    if field is not None:
        return errors.dial_rejected(field, code, message or described)
    if status == 404:
        return RollcallError(
            Code.NOT_FOUND,
            "CARRIER_NOT_FOUND",
            described,
            twilio_code=code,
            http_status=404,
            metadata=meta,
        )
    if code == 16020:
        kind, reason = Code.RESOURCE_EXHAUSTED, "CONFERENCE_FULL"
    elif code == 16026:
        kind, reason = Code.ALREADY_EXISTS, "LABEL_IN_USE"
    elif code in _STATE_CODES:
        kind, reason = Code.FAILED_PRECONDITION, "CARRIER_REJECTED"
    else:
        kind, reason = Code.INVALID_ARGUMENT, "CARRIER_REJECTED"
    return RollcallError(
        kind, reason, described, twilio_code=code, http_status=status, metadata=meta
    )
