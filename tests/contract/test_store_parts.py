"""Opening each store from the settings (service.store.choose.open_store): the parts
it gives share one database, and only PostgreSQL offers leases, only SQLite a
health hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.core.feed import LocalFeed
from service.core.model import Event, EventType
from service.store.choose import open_store
from service.store.postgres.feed import PgFeed
from service.store.postgres.store import PostgresStore
from service.store.sqlite.guard import GuardedSqliteStore
from tests import pg
from tests.contract.test_store_contract import AC, conference
from tests.contract.test_store_meta_dead_letters import letter


def database(kind: str, tmp_path: Path) -> str:
    if kind == "postgres":
        return pg.database_for(str(tmp_path))
    return str(tmp_path / "parts.sqlite3")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_the_parts_share_the_store_s_database(kind: str, tmp_path: Path) -> None:
    parts = open_store(Settings(database=database(kind, tmp_path), replica_id="r1"))
    await parts.store.open()
    try:
        conf = conference("parts")
        conf.revision = 1
        async with parts.store.write() as tx:
            await tx.insert_conference(conf)
            await tx.append_events(
                [Event(conf.sid, AC, 1, 1.0, EventType.PARTICIPANT_JOINED, conf)]
            )
        await parts.dead_letters.add(letter(AC, conf.sid, 1))
        assert [d.conference_sid for d in await parts.dead_letters.list(AC)] == [conf.sid]
    finally:
        await parts.store.close()


def test_sqlite_has_a_health_hook_and_no_leases(tmp_path: Path) -> None:
    parts = open_store(Settings(database=str(tmp_path / "parts.sqlite3")))
    assert isinstance(parts.store, GuardedSqliteStore)
    assert parts.health is parts.store
    assert parts.leases is None
    assert isinstance(parts.feed, LocalFeed)


def test_postgres_has_leases_and_a_feed_across_replicas(tmp_path: Path) -> None:
    settings = Settings(
        database="postgresql://u@db.invalid/rollcall",
        replica_id="r1",
        replica_timeout_seconds=7.0,
    )
    parts = open_store(settings)
    assert isinstance(parts.store, PostgresStore)
    assert parts.leases is parts.store
    assert parts.leases.heartbeat_timeout == 7.0
    assert parts.health is None
    assert isinstance(parts.feed, PgFeed)
