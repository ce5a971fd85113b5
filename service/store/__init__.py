"""The store's adapters (sqlite/, postgres/) and what they share.

Rule 1: `open_store` picks the adapter by the database setting: PostgreSQL for
        a postgresql:// or postgres:// URL, SQLite for anything else (a path).
Rule 2: each adapter package opens through its own factory and never imports
        the other; what both use lives here (parts, rows, pages, caches).
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
