"""RollcallClientError: what a failed call raises in the Python client.

Rule 1: the client never lets a grpc.RpcError escape; every failure is rebuilt
        from the google.rpc.Status the server sent.
Rule 2: the Status is read by clients.status, the decoder the standalone REST
        gateway uses too, so a caller sees the stable reason, the Twilio error
        code and HTTP status, and each bad field; `code` is the call's own code.
Rule 3: a call that never reached the service (no Status from it) says so in
        its reason: CONNECTION_FAILED (nothing answered at the target),
        TLS_HANDSHAKE_FAILED (TLS could not be agreed: an untrusted or expired
        certificate, a name it does not carry, no client certificate), and its
        message says which, in words; it carries no Twilio code, as the
        server sent none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import grpc

from clients.status import decode, decode_rpc_error

__all__ = ["FieldViolation", "RollcallClientError", "transport_failure"]

# What grpc's own UNAVAILABLE details say of a failed TLS handshake, in words.
_TLS_WORDS = (
    ("certificate has expired", "the certificate has expired"),
    ("unable to get local issuer certificate", "the certificate is signed by an untrusted CA"),
    ("self signed certificate", "the certificate is signed by an untrusted CA"),
    ("CERTIFICATE_VERIFY_FAILED", "the certificate could not be verified"),
    ("Hostname Verification", "the certificate does not carry the server's name"),
    ("WRONG_VERSION_NUMBER", "the server does not speak TLS"),
)


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One bad request field, as named in the server's BadRequest."""

    field: str
    description: str


class RollcallClientError(Exception):
    """A failed RPC.

    code: the gRPC status name ("NOT_FOUND"); reason: the stable ErrorInfo
    reason ("PARTICIPANT_NOT_FOUND"); twilio_code: Twilio's error code, when
    the server sent one; http_status: the status the REST gateway would answer;
    retry_delay: seconds the server asked to wait before a retry (RetryInfo).
    """

    def __init__(
        self,
        code: str,
        reason: str,
        message: str,
        *,
        twilio_code: int | None = None,
        http_status: int = 500,
        field_violations: tuple[FieldViolation, ...] = (),
        metadata: Mapping[str, str] | None = None,
        retry_delay: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.twilio_code = twilio_code
        self.http_status = http_status
        self.field_violations = field_violations
        self.metadata = dict(metadata or {})
        self.retry_delay = retry_delay

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> RollcallClientError:
        code_name = error.code().name
        try:
            decoded = decode_rpc_error(error)
        except ValueError:
            # The trailers carried a Status whose code disagrees with the call's.
            decoded = decode(code_name, error.details() or "", None)
        failure = transport_failure(code_name, decoded.reason, error.details() or "")
        if failure is not None:
            reason, message = failure
            return cls(code_name, reason, message, http_status=503)
        return cls(
            # The call's own code: the decoder folds codes the core never uses
            # (DEADLINE_EXCEEDED, CANCELLED, UNKNOWN) into INTERNAL or UNAVAILABLE.
            code_name,
            decoded.reason,
            decoded.message,
            # A client shows no Twilio code the server did not send (the REST
            # gateway, which must answer one, uses the decoder's).
            twilio_code=decoded.twilio_code if decoded.twilio_code_sent else None,
            http_status=decoded.http_status,
            field_violations=tuple(
                FieldViolation(field, description) for field, description in decoded.violations
            ),
            metadata=decoded.metadata,
            retry_delay=decoded.retry_delay,
        )

    def __str__(self) -> str:
        twilio = f" (twilio {self.twilio_code})" if self.twilio_code is not None else ""
        return f"{self.code} {self.reason}{twilio}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"RollcallClientError(code={self.code!r}, reason={self.reason!r}, "
            f"message={self.message!r}, twilio_code={self.twilio_code!r})"
        )


def transport_failure(code: str, reason: str, details: str) -> tuple[str, str] | None:
    """(reason, message) for a call that never reached the service (Rule 3),
    else None. `reason` is the decoded one: the service's own UNAVAILABLE
    errors carry another (SHUTTING_DOWN, STORE_UNAVAILABLE, ...)."""
    if code not in ("UNAVAILABLE", "UNKNOWN") or reason not in ("UNAVAILABLE", "INTERNAL"):
        return None
    tls = "handshake" in details.lower() or "Hostname Verification" in details
    if tls or "WRONG_VERSION_NUMBER" in details:
        why = next((words for key, words in _TLS_WORDS if key in details), None)
        if why is None and "Socket closed" in details:
            why = "the server closed the connection"
        return "TLS_HANDSHAKE_FAILED", f"TLS handshake failed: {why or 'no agreement'}"
    if "failed to connect to all addresses" in details or "Socket closed" in details:
        found = re.search(r"last error: \S+: (?:ipv[46]:|unix:)?\S+: (.*)$", details)
        why = found.group(1) if found else details
        return "CONNECTION_FAILED", f"cannot connect: {why}"
    return None
