"""RollcallClientError: what a failed call raises in the Python client.

Rule 1: the client never lets a grpc.RpcError escape; every failure is rebuilt
        from the google.rpc.Status the server sent.
Rule 2: the Status is read by clients.status, the decoder the standalone REST
        gateway uses too, so a caller sees the stable reason, the Twilio error
        code and HTTP status, and each bad field; `code` is the call's own code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import grpc

from clients.status import decode, decode_rpc_error

__all__ = ["FieldViolation", "RollcallClientError"]


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One bad request field, as named in the server's BadRequest."""

    field: str
    description: str


class RollcallClientError(Exception):
    """A failed RPC.

    code: the gRPC status name ("NOT_FOUND"); reason: the stable ErrorInfo
    reason ("PARTICIPANT_NOT_FOUND"); twilio_code: Twilio's error code, when
    the error has one; http_status: the status the REST gateway would answer.
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
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.twilio_code = twilio_code
        self.http_status = http_status
        self.field_violations = field_violations
        self.metadata = dict(metadata or {})

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> RollcallClientError:
        code_name = error.code().name
        try:
            decoded = decode_rpc_error(error)
        except ValueError:
            # The trailers carried a Status whose code disagrees with the call's.
            decoded = decode(code_name, error.details() or "", None)
        return cls(
            # The call's own code: the decoder folds codes the core never uses
            # (DEADLINE_EXCEEDED, CANCELLED, UNKNOWN) into INTERNAL or UNAVAILABLE.
            code_name,
            decoded.reason,
            decoded.message,
            twilio_code=decoded.twilio_code,
            http_status=decoded.http_status,
            field_violations=tuple(
                FieldViolation(field, description) for field, description in decoded.violations
            ),
            metadata=decoded.metadata,
        )

    def __str__(self) -> str:
        twilio = f" (twilio {self.twilio_code})" if self.twilio_code is not None else ""
        return f"{self.code} {self.reason}{twilio}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"RollcallClientError(code={self.code!r}, reason={self.reason!r}, "
            f"message={self.message!r}, twilio_code={self.twilio_code!r})"
        )
