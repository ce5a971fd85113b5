"""RollcallError, the one error type of the service, and the errors any request may get.

Rule 1: every failure the service reports is a RollcallError: a gRPC code, a
stable reason, a message, a Twilio error code (None where Twilio has none) and
an HTTP status.
Rule 2: a client-given value is repeated in an error cut to ECHO_MAX characters
(echo), so an error stays well inside gRPC's trailer limit.
Rule 3: INVALID_ARGUMENT names every bad field (FieldViolation); the first
field's specific Twilio code leads.
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
