"""Storage faults as typed errors: a full disk, I/O errors, a database gone from its path.

Rule 1: GuardedSqliteStore is the SQLite store with two checks around every write;
        the errors they raise and the store's health probe live here too.
Rule 2: a write that fails because the disk is full answers RESOURCE_EXHAUSTED
        `STORAGE_FULL`, one that fails with an I/O error UNAVAILABLE
        `STORAGE_IO_ERROR` (both 503/20503 over REST).
Rule 3: nothing is latched, so writes work again by themselves once space returns;
        reads are never refused.
Rule 4: before each change is committed the file at the database path must still
        be the file the process opened (same device and inode; checked once per
        change, just before COMMIT, and by every probe).
Rule 5: when it is not, the database was deleted or replaced under the server: every
        write is refused with UNAVAILABLE `DATABASE_GONE` (never acknowledged into
        an unlinked file) and the listeners hear of it, so health turns NOT_SERVING.
Rule 6: that is not latched either: the same file back at its path (moved back, a
        volume remounted) takes writes again.
Rule 7: the probe is that identity check and a read of the file through a reader
        connection, so a failing disk shows too.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable

from service.core import errors
from service.store.sqlite.rows import SqliteWriteTransaction
from service.store.sqlite.store import SqliteStore

log = logging.getLogger("rollcall.store")

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_IOERR = 10
_SQLITE_FULL = 13

STORAGE_FULL = "STORAGE_FULL"
STORAGE_IO_ERROR = "STORAGE_IO_ERROR"
DATABASE_GONE = "DATABASE_GONE"
STORAGE_REASONS = frozenset({STORAGE_FULL, STORAGE_IO_ERROR, DATABASE_GONE})


def storage_full() -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.RESOURCE_EXHAUSTED,
        STORAGE_FULL,
        "The database's disk is full: the change was not made; reads still work",
        twilio_code=20503,
        http_status=503,
    )


def storage_io_error() -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.UNAVAILABLE,
        STORAGE_IO_ERROR,
        "The database could not be written (I/O error): the change was not made",
        twilio_code=20503,
        http_status=503,
    )


def database_gone() -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.UNAVAILABLE,
        DATABASE_GONE,
        "The database file was removed or replaced under this server: writes are refused",
        twilio_code=20503,
        http_status=503,
    )


def not_open() -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.UNAVAILABLE,
        "STORE_UNAVAILABLE",
        "The database is not open",
        twilio_code=20503,
        http_status=503,
    )


def classify(exc: BaseException) -> errors.RollcallError | None:
    """The typed error for a storage fault, or None if `exc` is something else."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = None if code is None else code & 0xFF
        text = str(exc).lower()
        if primary == _SQLITE_FULL or "database or disk is full" in text:
            return storage_full()
        if primary == _SQLITE_IOERR or "disk i/o error" in text:
            return storage_io_error()
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return storage_full()
        if exc.errno == errno.EIO:
            return storage_io_error()
    return None


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class GuardedSqliteStore(SqliteStore):
    """SqliteStore whose writes check the database's identity and type storage faults."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._identity: tuple[int, int] | None = None
        self._gone = False
        self._listeners: list[Callable[[], None]] = []

    async def open(self) -> None:
        await super().open()
        self._identity = _identity(self.path)

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Called each time the database is found gone from its path."""
        self._listeners.append(listener)

    @property
    def gone(self) -> bool:
        return self._gone

    def check(self) -> bool:
        """True while the path holds the database this process opened."""
        if self._identity is None:
            return True
        here = _identity(self.path) == self._identity
        if here == (not self._gone):
            return here
        self._gone = not here
        if here:
            log.warning(
                "the database file is back at its path: writes are taken again",
                extra={"database": self.path},
            )
            return True
        log.error(
            "the database file is no longer at its path (deleted or replaced):"
            " refusing writes until it is back (or restart the server on a good database)",
            extra={"database": self.path},
        )
        for listener in self._listeners:
            listener()
        return False

    async def probe(self) -> None:
        """The health probe: the file's identity, then a read through the file."""
        if not self._all_readers:
            raise not_open()
        if not self.check():
            raise database_gone()
        try:
            async with self._read() as reads:
                reads.raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise classify(exc) or storage_io_error() from exc

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteWriteTransaction]:
        # Known gone: refuse at once unless it is back. Otherwise one stat per
        # change, just before it is released for COMMIT, is what keeps a change
        # from being acknowledged into an unlinked file (a stat here too would
        # double it).
        if self._gone and not self.check():
            raise database_gone()
        try:
            async with super().write() as tx:
                yield tx
                if not self.check():
                    raise database_gone()
        except (sqlite3.Error, OSError) as exc:
            typed = classify(exc)
            if typed is None:
                raise
            log.error(
                "write failed: %s",
                typed.reason,
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            raise typed from exc
