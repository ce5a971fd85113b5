"""Opening each store from the settings (service.store.choose.open_store): the parts
it gives share one database, only PostgreSQL offers leases, and both a health
probe that answers while the store can serve and fails while it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.core.errors import Code, RollcallError
from service.core.events import Event, EventType
from service.core.feed import LocalFeed
from service.store.choose import open_store
from service.store.postgres.feed import PgFeed
from service.store.postgres.store import PostgresStore
from service.store.sqlite.guard import GuardedSqliteStore
from tests import pg
from tests.fakes.stores import AC, conference, letter


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


def test_sqlite_has_a_health_probe_and_no_leases(tmp_path: Path) -> None:
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
    assert parts.health is parts.store
    assert isinstance(parts.feed, PgFeed)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_the_probe_answers_while_the_store_can_serve(kind: str, tmp_path: Path) -> None:
    parts = open_store(Settings(database=database(kind, tmp_path), replica_id="r1"))
    assert parts.health is not None
    with pytest.raises(RollcallError) as closed:
        await parts.health.probe()  # not open yet
    assert closed.value.code is Code.UNAVAILABLE
    await parts.store.open()
    try:
        await parts.health.probe()
    finally:
        await parts.store.close()


async def test_the_sqlite_probe_fails_while_the_file_is_gone_and_passes_once_it_is_back(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    parts = open_store(Settings(database=str(folder / "parts.sqlite3")))
    assert parts.health is not None
    lost: list[str] = []
    parts.health.on_lost(lambda: lost.append("lost"))
    await parts.store.open()
    try:
        await parts.health.probe()
        folder.rename(tmp_path / "away")
        with pytest.raises(RollcallError) as gone:
            await parts.health.probe()
        assert (gone.value.code, gone.value.reason) == (Code.UNAVAILABLE, "DATABASE_GONE")
        assert lost == ["lost"]
        (tmp_path / "away").rename(folder)
        await parts.health.probe()
        await parts.health.probe()
        assert lost == ["lost"]
    finally:
        await parts.store.close()
