"""Typed errors of the core: one class, a stable reason, a Twilio code.

Rule 1: every failure the service reports is a RollcallError.
Rule 2: each reason is built in one place, so it always carries the same gRPC
code, Twilio error code and HTTP status: the core's and the faces' reasons by
the constructors below, an adapter's own (the storage guard's, the Twilio
carrier's) by its errors module.
Rule 3: faces translate a RollcallError (gRPC: google.rpc.Status with
ErrorInfo and BadRequest; REST: Twilio error JSON) and never invent one.
"""

from __future__ import annotations

import dataclasses
import enum


class Code(enum.Enum):
    """gRPC status codes the core uses (names match grpc.StatusCode)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    INTERNAL = "INTERNAL"


DOMAIN = "rollcall.v1"

# The most of a client-given value an error repeats (requests bound their
# fields, but an error must stay well inside gRPC's trailer limit whatever).
ECHO_MAX = 160


def echo(value: str) -> str:
    """`value`, cut to ECHO_MAX characters, for an error message."""
    return value if len(value) <= ECHO_MAX else value[: ECHO_MAX - 3] + "..."


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    # 0: Twilio's catalogue has no specific code for this field.
    twilio_code: int = 0


class RollcallError(Exception):
    """A failure with a stable reason. `metadata` ends up in ErrorInfo.metadata."""

    def __init__(
        self,
        code: Code,
        reason: str,
        message: str,
        *,
        twilio_code: int | None,
        http_status: int,
        violations: tuple[FieldViolation, ...] = (),
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.twilio_code = twilio_code
        self.http_status = http_status
        self.violations = violations
        self.metadata = dict(metadata or {})

    def error_info_metadata(self) -> dict[str, str]:
        meta = dict(self.metadata)
        if self.twilio_code is not None:
            meta["twilio_code"] = str(self.twilio_code)
        meta["http_status"] = str(self.http_status)
        return meta


def invalid(violations: list[FieldViolation] | tuple[FieldViolation, ...]) -> RollcallError:
    """INVALID_ARGUMENT naming every bad field; the first specific Twilio code leads."""
    codes = [v.twilio_code for v in violations if v.twilio_code]
    message = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        message,
        twilio_code=codes[0] if codes else None,
        http_status=400,
        violations=tuple(violations),
    )


def invalid_field(field: str, description: str, twilio_code: int = 0) -> RollcallError:
    return invalid([FieldViolation(field, description, twilio_code)])


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


def not_found(what: str, reason: str = "NOT_FOUND") -> RollcallError:
    return RollcallError(
        Code.NOT_FOUND,
        reason,
        f"The requested resource {echo(what)} was not found",
        twilio_code=20404,
        http_status=404,
        metadata={"resource": echo(what)},
    )


# The reason of call_gone(): the carrier answered that the call is not in
# its conference any more (Twilio: 404 on the participant).
CALL_GONE = "CARRIER_CALL_GONE"


def call_gone(call_sid: str) -> RollcallError:
    """The carrier no longer has the call in its conference: the change is
    refused, and the participant is ended as the carrier says."""
    return RollcallError(
        Code.NOT_FOUND,
        CALL_GONE,
        f"The call {echo(call_sid)} has already left the conference at the carrier",
        twilio_code=20404,
        http_status=404,
        metadata={"call_sid": echo(call_sid)},
    )


def participant_not_found(name: str) -> RollcallError:
    return not_found(name, "PARTICIPANT_NOT_FOUND")


def conference_not_found(name: str) -> RollcallError:
    return not_found(name, "CONFERENCE_NOT_FOUND")


def conference_not_active(conference_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CONFERENCE_NOT_ACTIVE",
        f"Conference {conference_sid} does not exist or is completed",
        twilio_code=16022,
        http_status=400,
    )


def conference_full(conference_sid: str, max_participants: int) -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "CONFERENCE_FULL",
        f"Conference {conference_sid} is full ({max_participants} participants)",
        twilio_code=16020,
        http_status=400,
        metadata={"max_participants": str(max_participants)},
    )


def label_in_use(label: str) -> RollcallError:
    return RollcallError(
        Code.ALREADY_EXISTS,
        "LABEL_IN_USE",
        f"Participant label {echo(label)!r} is in use by another participant",
        twilio_code=16026,
        http_status=400,
        violations=(FieldViolation("label", "in use by another active participant", 16026),),
    )


def coach_target_absent(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "COACH_TARGET_NOT_PRESENT",
        f"Participant to be coached {call_sid} is not present in the conference",
        twilio_code=16028,
        http_status=400,
        violations=(FieldViolation("call_sid_to_coach", "not an active participant here", 16028),),
    )


def coach_target_on_hold(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "COACH_TARGET_ON_HOLD",
        f"Participant to be coached {call_sid} is on hold",
        twilio_code=16027,
        http_status=400,
    )


def participant_not_active(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "PARTICIPANT_NOT_ACTIVE",
        f"Participant {call_sid} is not in progress (its call has ended)",
        twilio_code=21220,
        http_status=400,
    )


def etag_mismatch(expected: str, actual: str) -> RollcallError:
    return RollcallError(
        Code.ABORTED,
        "ETAG_MISMATCH",
        f"etag {echo(expected)} does not match the participant's current etag {actual}",
        twilio_code=None,
        http_status=412,
        metadata={"current_etag": actual},
    )


def carrier_contention() -> RollcallError:
    """The participant kept changing while the carrier carried this change out."""
    return RollcallError(
        Code.ABORTED,
        "CARRIER_CONTENTION",
        "the participant kept changing while the carrier carried out this change; retry",
        twilio_code=None,
        http_status=409,
    )


def request_id_reused() -> RollcallError:
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
        "request_id was already used for a different request",
        twilio_code=None,
        http_status=422,
        violations=(FieldViolation("request_id", "already used with other parameters", 0),),
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


def watcher_limit(limit: int) -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "WATCHER_LIMIT",
        f"at most {limit} concurrent watchers per account",
        twilio_code=20429,
        http_status=429,
        metadata={"limit": str(limit), "retry_after_seconds": "1"},
    )


def revision_from_future(cursor: int, current: int) -> RollcallError:
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "REVISION_FROM_FUTURE",
        f"revision {cursor} is not between 0 and the current revision {current}",
        twilio_code=None,
        http_status=400,
        violations=(FieldViolation("resume_after_revision", "beyond current revision"),),
        metadata={"current_revision": str(current)},
    )


def revision_compacted(cursor: int, oldest: int | None, current: int) -> RollcallError:
    """OUT_OF_RANGE: the events after `cursor` are gone; the client re-snapshots."""
    return RollcallError(
        Code.OUT_OF_RANGE,
        "REVISION_COMPACTED",
        f"events after revision {cursor} are no longer retained; re-snapshot",
        twilio_code=None,
        http_status=410,
        metadata={
            "oldest_revision": str(oldest if oldest is not None else current + 1),
            "current_revision": str(current),
        },
    )


def cursor_invalid() -> RollcallError:
    """A WatchAccount cursor this service did not issue for this account."""
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "CURSOR_INVALID",
        "not a cursor this service issued for this account",
        twilio_code=None,
        http_status=400,
        violations=(FieldViolation("cursor", "not issued for this account"),),
    )


def cursor_filter_mismatch() -> RollcallError:
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "CURSOR_FILTER_MISMATCH",
        "the cursor was issued for other filters; resume with the filters it was issued for",
        twilio_code=None,
        http_status=400,
        violations=(FieldViolation("cursor", "issued for other filters"),),
    )


def cursor_expired(why: str, conference_sid: str = "") -> RollcallError:
    """OUT_OF_RANGE: a WatchAccount cursor can no longer be resumed; start over."""
    return RollcallError(
        Code.OUT_OF_RANGE,
        "CURSOR_EXPIRED",
        f"{why}; start over from a snapshot",
        twilio_code=None,
        http_status=410,
        metadata={"conference_sid": conference_sid} if conference_sid else None,
    )


def account_watch_too_large(limit: int) -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "ACCOUNT_WATCH_TOO_LARGE",
        f"an account watch follows at most {limit} conferences; narrow it with"
        " friendly_name_prefix",
        twilio_code=None,
        http_status=429,
        metadata={"limit": str(limit)},
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


def dial_rejected(field: str, twilio_code: int, message: str) -> RollcallError:
    """The carrier refused the destination or caller ID (Twilio's 212xx codes)."""
    return invalid([FieldViolation(field, message, twilio_code)])


def callback_destination_refused(refused: int, delivered: int, remaining: int) -> RollcallError:
    """Redelivery found dead letters whose host the callback destination policy
    refuses: they were not sent (nor connected to) and are kept."""
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CALLBACK_DESTINATION_NOT_ALLOWED",
        f"{refused} dead letter(s) not redelivered: their host is not an allowed callback"
        f" destination (ROLLCALL_CALLBACK_ALLOW_NETWORKS/ROLLCALL_CALLBACK_DENY_NETWORKS);"
        f" they are kept. {delivered} delivered, {remaining} remaining",
        twilio_code=21205,
        http_status=400,
        metadata={
            "refused": str(refused),
            "delivered": str(delivered),
            "remaining": str(remaining),
        },
    )


def internal(message: str = "Internal Server Error") -> RollcallError:
    return RollcallError(Code.INTERNAL, "INTERNAL", message, twilio_code=20500, http_status=500)


def malformed_request() -> RollcallError:
    """The request bytes are not a message of the method's request type."""
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
        "The request message could not be decoded",
        twilio_code=None,
        http_status=400,
    )
