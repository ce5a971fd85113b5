"""The status codec: what service.rpc.status encodes, clients.status decodes to
the same reason, codes and fields; calls without details decode to a generic
error with the right HTTP status and Twilio code."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from google.rpc import code_pb2, error_details_pb2

from clients.status import decode
from service.carriers.twilio import errors as carrier_errors
from service.core import errors
from service.gateway.errors import rollcall_error_response
from service.gateway.status import from_status
from service.rpc.status import to_status

ERRORS = [
    errors.invalid(
        [
            errors.FieldViolation("to_endpoint", "not a number", 21211),
            errors.FieldViolation("label", "too long"),
        ]
    ),
    errors.unauthenticated(),
    errors.participant_not_found("accounts/AC1/conferences/CF1/participants/CA1"),
    errors.conference_full("CF1", 250),
    errors.etag_mismatch('"1"', '"2"'),
    errors.request_id_reused(),
    errors.rate_limited(),
    errors.overloaded(16),
    errors.waited_too_long(0.75, 0.5),
    errors.shutting_down(),
    errors.internal("disk on fire"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.reason)
def test_what_is_encoded_decodes_to_the_same_error(error: errors.RollcallError) -> None:
    status = to_status(error)
    assert status.code == getattr(code_pb2, error.code.value)
    infos = [d for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
    assert len(infos) == 1, "exactly one ErrorInfo"
    decoded = decode(error.code.value, status.message, status)
    assert decoded.code == error.code.value
    assert decoded.reason == error.reason
    assert decoded.message == error.message
    assert decoded.twilio_code == error.twilio_code
    assert decoded.http_status == error.http_status
    assert decoded.violations == tuple((v.field, v.description) for v in error.violations)
    assert decoded.metadata == error.metadata
    rebuilt = from_status(error.code.value, status.message, status)
    assert (rebuilt.code, rebuilt.reason, rebuilt.violations) == (
        error.code,
        error.reason,
        tuple(errors.FieldViolation(v.field, v.description) for v in error.violations),
    )


def test_an_error_that_says_when_to_retry_carries_retry_info() -> None:
    status = to_status(errors.waited_too_long(0.75, 0.5))
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert info.retry_delay.seconds == 1
    plain = to_status(errors.shutting_down())
    assert not any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in plain.details)


THROTTLES = [
    errors.rate_limited(),
    errors.overloaded(16),
    errors.waited_too_long(0.75, 0.5),
    errors.too_many_failed_logins(7),
    errors.watcher_limit(10),
    carrier_errors.carrier_paced(0.5),
    carrier_errors.carrier_rate_limited(),
]


@pytest.mark.parametrize("error", THROTTLES, ids=lambda e: e.reason)
def test_every_throttling_and_overload_error_says_when_to_retry(
    error: errors.RollcallError,
) -> None:
    """RetryInfo on gRPC (clients.retries honours it), Retry-After on REST."""
    status = to_status(error)
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1, error.reason
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert info.retry_delay.seconds >= 1
    assert decode(error.code.value, status.message, status).retry_delay == info.retry_delay.seconds
    response = rollcall_error_response(error, make_mocked_request("POST", "/x"))
    assert response.headers["Retry-After"] == str(info.retry_delay.seconds)


@pytest.mark.parametrize(
    ("code", "folded", "http", "twilio"),
    [
        ("ABORTED", "ABORTED", 409, None),
        ("PERMISSION_DENIED", "PERMISSION_DENIED", 403, None),
        ("UNAVAILABLE", "UNAVAILABLE", 503, 20503),
        ("DEADLINE_EXCEEDED", "UNAVAILABLE", 503, 20503),
        ("UNKNOWN", "INTERNAL", 500, 20500),
        ("CANCELLED", "INTERNAL", 500, 20500),
    ],
)
def test_a_bare_code_decodes_to_a_generic_error(
    code: str, folded: str, http: int, twilio: int | None
) -> None:
    decoded = decode(code, "went wrong", None)
    assert (decoded.code, decoded.reason, decoded.http_status, decoded.twilio_code) == (
        folded,
        folded,
        http,
        twilio,
    )
    assert decoded.message == "went wrong"
    assert decoded.violations == ()
