"""google.rpc.Status -> the fields of a Rollcall error, on the caller's side.

Rule 1: anything that calls Rollcall through a gRPC stub (the Python client, the
        standalone REST gateway) decodes a failure here, and only here, so every
        caller reads the reason, Twilio code, HTTP status and bad fields the server
        encoded (its encoder is service.rpc.status).
Rule 2: a code outside CORE_CODES reads as INTERNAL and DEADLINE_EXCEEDED as
        UNAVAILABLE; without a Twilio code those two read as 20500 and 20503.
Rule 3: it imports nothing from the server package: the client works without it.
"""

from __future__ import annotations

import dataclasses

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = ["CORE_CODES", "DecodedStatus", "decode", "decode_rpc_error"]

# The gRPC codes the server's core uses; any other code a call ends with
# (CANCELLED, UNKNOWN, a proxy's own) reads as INTERNAL.
CORE_CODES = frozenset(
    {
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "ABORTED",
        "RESOURCE_EXHAUSTED",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "OUT_OF_RANGE",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "INTERNAL",
    }
)

_DEFAULT_HTTP = {
    "INVALID_ARGUMENT": 400,
    "NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "ABORTED": 409,
    "UNAVAILABLE": 503,
}


@dataclasses.dataclass(frozen=True)
class DecodedStatus:
    """A failed call as the server described it.

    code: one of CORE_CODES (a deadline the caller gave up on reads, to the
    caller's caller, as UNAVAILABLE); violations: (field, description) pairs.
    """

    code: str
    reason: str
    message: str
    twilio_code: int | None
    http_status: int
    violations: tuple[tuple[str, str], ...] = ()
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    # Seconds the server asks the caller to wait before a retry (RetryInfo).
    retry_delay: float | None = None
    # Whether twilio_code came from the server (else Rule 2 supplied it).
    twilio_code_sent: bool = False


def decode(code_name: str, message: str, status: status_pb2.Status | None) -> DecodedStatus:
    """The error a server sent (or a generic one when it sent no details)."""
    code = code_name if code_name in CORE_CODES else "INTERNAL"
    if code == "DEADLINE_EXCEEDED":
        code = "UNAVAILABLE"
    reason = code
    metadata: dict[str, str] = {}
    violations: list[tuple[str, str]] = []
    retry_delay: float | None = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
                metadata = dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [(fv.field, fv.description) for fv in bad.field_violations]
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
    twilio = metadata.pop("twilio_code", None)
    sent = bool(twilio)
    http = metadata.pop("http_status", None)
    if twilio is None and code in ("INTERNAL", "UNAVAILABLE"):
        twilio = "20500" if code == "INTERNAL" else "20503"
    return DecodedStatus(
        code,
        reason,
        message,
        twilio_code=int(twilio) if twilio else None,
        http_status=int(http) if http else _DEFAULT_HTTP.get(code, 500),
        violations=tuple(violations),
        metadata=metadata,
        retry_delay=retry_delay,
        twilio_code_sent=sent,
    )


def decode_rpc_error(error: grpc.RpcError) -> DecodedStatus:
    """The error carried by a failed call on a grpc or grpc.aio stub.

    Raises ValueError when the trailers carry a Status whose code or message
    disagrees with the call's (a proxy rewrote one of them); callers then fall
    back to decode(code, details, None).
    """
    status = rpc_status.from_call(error)
    return decode(error.code().name, error.details() or "", status)
