"""RollcallError <-> google.rpc.Status, in both directions.

The rule it keeps: every error on the wire is a google.rpc.Status with exactly
one ErrorInfo (domain rollcall.v1, stable reason, metadata with twilio_code and
http_status) and, when fields are at fault, one BadRequest naming each. The
reverse direction lets anything that calls the service through a gRPC stub
(the standalone REST gateway, the Python client) see the same RollcallError
that an in-process caller sees.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.errors import DOMAIN, Code, FieldViolation, RollcallError

_GRPC_CODES = {code.name: code for code in grpc.StatusCode}


def to_grpc_code(code: Code) -> grpc.StatusCode:
    return _GRPC_CODES[code.value]


def to_status(error: RollcallError) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=DOMAIN, metadata=error.error_info_metadata()
    )
    details = [info]
    if error.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    return status_pb2.Status(
        code=getattr(code_pb2, error.code.value),
        message=error.message,
        details=packed,
    )


def to_grpc_status(error: RollcallError) -> Any:
    """A grpc.Status object for context.abort_with_status."""
    return rpc_status.to_status(to_status(error))


def from_status(code_name: str, message: str, status: status_pb2.Status | None) -> RollcallError:
    """Rebuild the RollcallError a server sent (or a generic one)."""
    try:
        # A deadline the client gave up on reads, to the caller's caller, as unavailable.
        code = Code(code_name) if code_name != "DEADLINE_EXCEEDED" else Code.UNAVAILABLE
    except ValueError:
        code = Code.INTERNAL
    reason = code.value
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
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
                violations = [
                    FieldViolation(fv.field, fv.description) for fv in bad.field_violations
                ]
    twilio = metadata.pop("twilio_code", None)
    http = metadata.pop("http_status", None)
    default_http = {
        Code.INVALID_ARGUMENT: 400,
        Code.NOT_FOUND: 404,
        Code.UNAUTHENTICATED: 401,
        Code.PERMISSION_DENIED: 403,
        Code.RESOURCE_EXHAUSTED: 429,
        Code.ABORTED: 409,
        Code.UNAVAILABLE: 503,
    }.get(code, 500)
    if twilio is None and code in (Code.INTERNAL, Code.UNAVAILABLE):
        twilio = "20500" if code is Code.INTERNAL else "20503"
    return RollcallError(
        code,
        reason,
        message,
        twilio_code=int(twilio) if twilio else None,
        http_status=int(http) if http else default_http,
        violations=tuple(violations),
        metadata=metadata,
    )


def from_rpc_error(error: grpc.RpcError) -> RollcallError:
    """The RollcallError carried by a failed call on a grpc or grpc.aio stub."""
    status = rpc_status.from_call(error)
    return from_status(error.code().name, error.details() or "", status)
