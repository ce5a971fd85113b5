"""The PostgreSQL store: several replicas on one database.

Rule 1: `open_postgres` gives the store, its dead-letter table, the change
        feed across replicas (see feed) and the store as the replicas' leases.
Rule 2: an unreachable database answers UNAVAILABLE per request (see
        schema); the store is also the health probe (`SELECT 1` on a pooled
        connection), so health says NOT_SERVING while it lasts.
"""

from __future__ import annotations

from service.config import Settings
from service.store.parts import StoreParts
from service.store.postgres.dead_letters import PgDeadLetters
from service.store.postgres.feed import PgFeed
from service.store.postgres.schema import PgOptions
from service.store.postgres.store import PostgresStore


def open_postgres(settings: Settings) -> StoreParts:
    store = PostgresStore(
        PgOptions(
            dsn=settings.database,
            pool_size=settings.database_pool_size,
            statement_timeout_seconds=settings.database_statement_timeout_seconds,
            tls=settings.database_tls,
            tls_ca_file=settings.database_tls_ca_file,
        ),
        replica_id=settings.replica_id,
    )
    store.heartbeat_timeout = settings.replica_timeout_seconds
    feed = PgFeed(store, poll_seconds=settings.watch_poll_seconds)
    return StoreParts(store, PgDeadLetters(store), feed, leases=store, health=store)
