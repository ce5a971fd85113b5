"""A failed gRPC call -> the RollcallError it carries, for the standalone gateway.

Rule 1: the standalone gateway reads a failure exactly as the Python client does,
        through the caller-side decoder clients.status, and only turns the decoded
        fields into the core's RollcallError here.
Rule 2: the gateway never imports the gRPC face (service.rpc), which holds only
        the encoder.
"""

from __future__ import annotations

import grpc
from google.rpc import status_pb2

from clients.status import DecodedStatus, decode, decode_rpc_error
from service.core.errors import Code, FieldViolation, RollcallError


def _error(decoded: DecodedStatus) -> RollcallError:
    return RollcallError(
        Code(decoded.code),
        decoded.reason,
        decoded.message,
        twilio_code=decoded.twilio_code,
        http_status=decoded.http_status,
        violations=tuple(FieldViolation(field, text) for field, text in decoded.violations),
        metadata=decoded.metadata,
    )


def from_status(code_name: str, message: str, status: status_pb2.Status | None) -> RollcallError:
    """Rebuild the RollcallError a server sent (or a generic one)."""
    return _error(decode(code_name, message, status))


def from_rpc_error(error: grpc.RpcError) -> RollcallError:
    """The RollcallError carried by a failed call on a grpc or grpc.aio stub.

    Raises ValueError when the call's trailers disagree with its code.
    """
    return _error(decode_rpc_error(error))
