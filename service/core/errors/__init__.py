"""Typed errors of the core: one class, a stable reason, a Twilio code.

Rule 1: every failure the service reports is a RollcallError.
Rule 2: each reason is built in one place, so it always carries the same gRPC
code, Twilio error code and HTTP status: the core's and the faces' reasons by
the constructors of this package (rollcall_error, admission, resources,
watches; each name is handed on here), an adapter's own (the storage guard's,
the Twilio carrier's) by its errors module.
Rule 3: faces translate a RollcallError (gRPC: google.rpc.Status with
ErrorInfo and BadRequest; REST: Twilio error JSON) and never invent one.
"""

from __future__ import annotations

from service.core.errors.admission import (
    deadline_passed,
    overloaded,
    rate_limited,
    shutting_down,
    too_many_failed_logins,
    unauthenticated,
    waited_too_long,
    watch_token_expired,
    watch_token_invalid,
)
from service.core.errors.resources import (
    CALL_GONE,
    call_gone,
    callback_destination_refused,
    carrier_contention,
    coach_target_absent,
    coach_target_on_hold,
    conference_full,
    conference_not_active,
    conference_not_found,
    dial_rejected,
    etag_mismatch,
    label_in_use,
    not_found,
    participant_not_active,
    participant_not_found,
    request_id_reused,
)
from service.core.errors.rollcall_error import (
    DOMAIN,
    ECHO_MAX,
    Code,
    FieldViolation,
    RollcallError,
    echo,
    internal,
    invalid,
    invalid_field,
    malformed_request,
)
from service.core.errors.watches import (
    account_watch_too_large,
    cursor_expired,
    cursor_filter_mismatch,
    cursor_invalid,
    revision_compacted,
    revision_from_future,
    watcher_limit,
)

__all__ = [
    "CALL_GONE",
    "DOMAIN",
    "ECHO_MAX",
    "Code",
    "FieldViolation",
    "RollcallError",
    "account_watch_too_large",
    "call_gone",
    "callback_destination_refused",
    "carrier_contention",
    "coach_target_absent",
    "coach_target_on_hold",
    "conference_full",
    "conference_not_active",
    "conference_not_found",
    "cursor_expired",
    "cursor_filter_mismatch",
    "cursor_invalid",
    "deadline_passed",
    "dial_rejected",
    "echo",
    "etag_mismatch",
    "internal",
    "invalid",
    "invalid_field",
    "label_in_use",
    "malformed_request",
    "not_found",
    "overloaded",
    "participant_not_active",
    "participant_not_found",
    "rate_limited",
    "request_id_reused",
    "revision_compacted",
    "revision_from_future",
    "shutting_down",
    "too_many_failed_logins",
    "unauthenticated",
    "waited_too_long",
    "watch_token_expired",
    "watch_token_invalid",
    "watcher_limit",
]
