"""Picks the store adapter the settings name.

Rule 1: PostgreSQL for a postgresql:// or postgres:// URL, SQLite for anything
        else (a path).
Rule 2: only the chosen adapter is imported, so a process loads only the one it
        runs.
"""

from __future__ import annotations

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
