"""Picks the store adapter the settings name.

Rule 1: PostgreSQL for a postgresql:// or postgres:// URL, SQLite for anything
        else (a path).
Rule 2: only the chosen adapter is imported, so a process loads only the one it
        runs.
Rule 3: a store that cannot be opened at start is told in one line naming the
        database's host and port (or file) and the setting, never its password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from service.config import Settings
from service.store.parts import StoreParts

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str) -> bool:
    return database.startswith(POSTGRES_SCHEMES)


def open_store(settings: Settings) -> StoreParts:
    """The parts of the store the settings name, not yet opened."""
    # Imported here: a process loads only the adapter it runs.
    if is_postgres(settings.database):
        from service.store.postgres import open_postgres

        return open_postgres(settings)
    from service.store.sqlite import open_sqlite

    return open_sqlite(settings)


class DatabaseUnavailable(RuntimeError):
    """The store could not be opened at start (Rule 3); str() is the line to show."""


def _root_cause(exc: BaseException) -> str:
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    words = " ".join(str(exc).split())
    return words or type(exc).__name__


def database_unavailable(database: str, exc: BaseException) -> DatabaseUnavailable:
    """Rule 3 for a failed open of `database` (the setting's value)."""
    setting = "setting ROLLCALL_DATABASE or --database"
    cause = _root_cause(exc)
    if not is_postgres(database):
        return DatabaseUnavailable(
            f"cannot open the SQLite database {database} ({setting}): {cause}"
        )
    url = urlsplit(database)
    try:
        port = url.port or 5432
    except ValueError:
        port = 5432
    host = url.hostname or "localhost"
    name = url.path.lstrip("/") or url.username or "?"
    return DatabaseUnavailable(
        f"PostgreSQL not reachable at {host}:{port} (database {name}, {setting}): {cause}"
    )
