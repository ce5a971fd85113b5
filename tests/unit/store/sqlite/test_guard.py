"""Which storage failures become which typed errors (service.store.sqlite.guard.classify)."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from service.core.errors import Code
from service.store.sqlite.guard import classify


def _sqlite(message: str, code: int | None) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    if code is not None:
        exc.sqlite_errorcode = code
    return exc


@pytest.mark.parametrize(
    ("exc", "code", "reason"),
    [
        (_sqlite("database or disk is full", 13), Code.RESOURCE_EXHAUSTED, "STORAGE_FULL"),
        (_sqlite("database or disk is full", None), Code.RESOURCE_EXHAUSTED, "STORAGE_FULL"),
        (_sqlite("disk I/O error", 10), Code.UNAVAILABLE, "STORAGE_IO_ERROR"),
        (_sqlite("disk I/O error", 10 | (4 << 8)), Code.UNAVAILABLE, "STORAGE_IO_ERROR"),
        (OSError(errno.ENOSPC, "No space left on device"), Code.RESOURCE_EXHAUSTED, "STORAGE_FULL"),
        (OSError(errno.EIO, "Input/output error"), Code.UNAVAILABLE, "STORAGE_IO_ERROR"),
    ],
)
def test_storage_faults_are_typed(exc: BaseException, code: Code, reason: str) -> None:
    typed = classify(exc)
    assert typed is not None
    assert (typed.code, typed.reason, typed.http_status, typed.twilio_code) == (
        code,
        reason,
        503,
        20503,
    )


@pytest.mark.parametrize(
    "exc",
    [
        _sqlite("no such table: x", 1),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        OSError(errno.EACCES, "Permission denied"),
        RuntimeError("database or disk is full"),
    ],
)
def test_other_failures_are_left_alone(exc: BaseException) -> None:
    assert classify(exc) is None
