"""RollcallError -> google.rpc.Status: the gRPC face's error encoder.

Rule 1: every error on the wire is a google.rpc.Status with exactly one ErrorInfo
        (domain rollcall.v1, stable reason, metadata with twilio_code and
        http_status) and, when fields are at fault, one BadRequest naming each;
        an error that says when to retry (retry_after_seconds in its metadata)
        carries a RetryInfo with that delay too.
Rule 2: the decoder is clients.status, so anything that calls the service through
        a gRPC stub (the standalone REST gateway, the Python client) sees the same
        error an in-process caller sees.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.core.errors import DOMAIN, Code, RollcallError

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
    retry_after = error.metadata.get("retry_after_seconds")
    if retry_after is not None and retry_after.isdigit():
        details.append(
            error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_after)))
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
