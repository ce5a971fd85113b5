"""Errors of a call refused before any work: credentials, rate, load, deadline, shutdown.

Rule 1: each is raised before the call does any work, so it changed nothing;
a retry is safe (after retry_after_seconds where the error carries one).
Rule 2: every load refusal is RESOURCE_EXHAUSTED with Twilio's 20429 and HTTP
429; every credentials refusal UNAUTHENTICATED with 20003 and HTTP 401.
"""

from __future__ import annotations

from service.core.errors.rollcall_error import Code, RollcallError


def unauthenticated(message: str = "Authenticate") -> RollcallError:
    return RollcallError(
        Code.UNAUTHENTICATED,
        "CREDENTIALS_INVALID",
        message,
        twilio_code=20003,
        http_status=401,
    )


def watch_token_invalid() -> RollcallError:
    """Not a watch token this service issued (forged, damaged, cut short)."""
    return RollcallError(
        Code.UNAUTHENTICATED,
        "WATCH_TOKEN_INVALID",
        "not a watch token this service issued",
        twilio_code=20003,
        http_status=401,
    )


def watch_token_expired() -> RollcallError:
    """A watch token past its expiry: mint another with the account's credentials."""
    return RollcallError(
        Code.UNAUTHENTICATED,
        "WATCH_TOKEN_EXPIRED",
        "the watch token has expired; mint a new one",
        twilio_code=20003,
        http_status=401,
    )


def rate_limited(message: str = "Too Many Requests", retry_after_seconds: int = 1) -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        message,
        twilio_code=20429,
        http_status=429,
        metadata={"retry_after_seconds": str(retry_after_seconds)},
    )


def too_many_failed_logins(retry_after_seconds: int) -> RollcallError:
    """A caller that failed to authenticate too often, refused before its
    credentials are checked (service.logins)."""
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "TOO_MANY_FAILED_LOGINS",
        f"Too many failed logins; retry in {retry_after_seconds} s",
        twilio_code=20429,
        http_status=429,
        metadata={"retry_after_seconds": str(retry_after_seconds)},
    )


def overloaded(limit: int) -> RollcallError:
    """More calls in flight than the server takes on: refused before any work."""
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "OVERLOADED",
        f"the server is busy ({limit} calls in flight); retry shortly",
        twilio_code=20429,
        http_status=429,
        metadata={"retry_after_seconds": "1"},
    )


def waited_too_long(waited: float, limit: float) -> RollcallError:
    """A call waited for its turn longer than the server lets one: refused
    before any work rather than served late."""
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "OVERLOADED",
        f"the server is busy (this call waited {waited:.2f} s for a turn, more than"
        f" {limit:g} s); retry shortly",
        twilio_code=20429,
        http_status=429,
        metadata={"retry_after_seconds": "1"},
    )


def shutting_down(message: str = "this server is shutting down; retry elsewhere") -> RollcallError:
    return RollcallError(
        Code.UNAVAILABLE, "SHUTTING_DOWN", message, twilio_code=20503, http_status=503
    )


def deadline_passed() -> RollcallError:
    """The caller's deadline passed before the work started: nothing was done."""
    return RollcallError(
        Code.DEADLINE_EXCEEDED,
        "DEADLINE_PASSED",
        "the call's deadline passed before it started; nothing was changed",
        twilio_code=20504,
        http_status=504,
    )
