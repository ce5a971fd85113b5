"""PostgreSQL plumbing: connection options, schema migrations, error translation.

Rule 1: migrations are numbered files applied in order, each in its own
        transaction, under a session advisory lock: replicas starting at once
        apply each exactly once, and none serves on a half-migrated schema.
Rule 2: a database that is down, restarting, failing over or refusing
        connections, and a connection cut or left confused, reach callers as
        the typed UNAVAILABLE (retry later, or elsewhere), never as a driver
        exception.
Rule 3: a connection whose statement did not end with the server's answer
        (its caller cancelled or timed out) or that failed as in Rule 2 is
        unfit: it is terminated, never returned to the pool (see `unfit`).
Rule 4: the DSN (which may carry a password) is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import asyncpg

from service.core import errors

# pg_advisory_lock key held while migrating ("rollcall" in ASCII).
MIGRATION_LOCK = 0x726F6C6C63616C6C

# Errors after which the same work may simply be run again.
RETRYABLE = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
)

# The database is down, restarting, failing over, unreachable or refusing
# connections, or the connection to it was cut or left in a state the driver
# cannot go on from (InternalClientError: "cannot switch to state ...;
# another operation is in progress", after a FATAL error it had not yet
# seen the end of).
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InsufficientResourcesError,
    # A standby promoted late, or a connection to one after a failover.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.FatalPostgresError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


@dataclasses.dataclass(frozen=True)
class PgOptions:
    dsn: str
    pool_size: int = 20
    statement_timeout_seconds: float = 30.0
    # "" (as the DSN's sslmode says), disable, require, verify-ca, verify-full.
    tls: str = ""
    tls_ca_file: str = ""

    def ssl(self) -> Any:
        if not self.tls:
            return None
        if self.tls not in ("disable", "require", "verify-ca", "verify-full"):
            raise ValueError(
                f"database TLS mode {self.tls!r}: expected disable, require, verify-ca"
                " or verify-full"
            )
        if self.tls in ("disable", "require") or not self.tls_ca_file:
            return self.tls
        context = ssl.create_default_context(cafile=self.tls_ca_file)
        context.check_hostname = self.tls == "verify-full"
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        settings = {
            "statement_timeout": str(int(self.statement_timeout_seconds * 1000)),
            "lock_timeout": str(int(self.statement_timeout_seconds * 1000)),
            "application_name": "rollcall",
        }
        kwargs: dict[str, Any] = {"server_settings": settings}
        tls = self.ssl()
        if tls is not None:
            kwargs["ssl"] = tls
        return kwargs


def unavailable(message: str = "the database is unavailable") -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.UNAVAILABLE,
        "STORE_UNAVAILABLE",
        message + "; retry later",
        twilio_code=20503,
        http_status=503,
    )


class Conflict(errors.RollcallError):
    """A serialization, deadlock or lock-timeout failure: the work may simply be
    run again. The store retries what it owns whole; a change whose transaction
    body belongs to the caller (which the lock order keeps from happening)
    reaches the client as UNAVAILABLE, safe to retry."""

    def __init__(self) -> None:
        super().__init__(
            errors.Code.UNAVAILABLE,
            "STORE_UNAVAILABLE",
            "the database was too busy to complete the change; retry",
            twilio_code=20503,
            http_status=503,
        )


def _fatal(exc: BaseException) -> bool:
    """A server error that ended the session (severity FATAL or PANIC)."""
    severity = getattr(exc, "severity_en", None) or getattr(exc, "severity", None)
    return isinstance(exc, asyncpg.exceptions.PostgresError) and severity in ("FATAL", "PANIC")


def unfit(exc: BaseException) -> bool:
    """Whether the connection a statement failed on with `exc` must be
    terminated rather than returned to the pool (Rule 3). A statement
    timeout is not: the server answered, and the connection is idle again."""
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return False
    return isinstance(exc, (asyncio.CancelledError, *UNREACHABLE)) or _fatal(exc)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Database outages become UNAVAILABLE; the driver's text stays in the log only."""
    try:
        yield
    except errors.RollcallError:
        raise
    except RETRYABLE as exc:
        raise Conflict() from exc
    except asyncpg.exceptions.QueryCanceledError as exc:
        raise unavailable("the database did not answer in time") from exc
    except UNREACHABLE as exc:
        raise unavailable() from exc
    except asyncpg.exceptions.PostgresError as exc:
        if _fatal(exc):
            raise unavailable() from exc
        raise


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every PostgreSQL migration shipped, in order."""
    found = []
    folder = resources.files("service.store.postgres") / "sql"
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Applies pending migrations; returns the names applied by this call."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        rows = await conn.fetch("SELECT version FROM schema_migrations")
        applied = {row[0] for row in rows}
        for version, name, sql in migrations():
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    version,
                    name,
                    time.time(),
                )
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now
