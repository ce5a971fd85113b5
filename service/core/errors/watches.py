"""Errors of watch streams: watcher limits, revisions and account cursors.

Rule 1: a revision or cursor that can no longer be resumed is OUT_OF_RANGE
(HTTP 410): the client starts over from a snapshot.
Rule 2: a revision or cursor the service did not hand out (or handed out for
other filters) is INVALID_ARGUMENT naming the field; revision and cursor errors
carry no Twilio code.
Rule 3: a watch too many or too large is RESOURCE_EXHAUSTED (HTTP 429) naming
its limit.
"""

from __future__ import annotations

from service.core.errors.rollcall_error import Code, FieldViolation, RollcallError


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
