"""PostgreSQL participant reads (service.store.postgres.participant_reads) on the
connection kept for them, when the database ends that connection."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import asyncpg
import pytest

from service.core import errors
from service.core.ports.store import Store
from service.store.postgres.schema import PgOptions
from service.store.postgres.store import PostgresStore
from tests import pg
from tests.fakes.stores import AC, Backend, add, conference, participant
from tests.poll import eventually


async def _read(store: Store, conference_sid: str) -> str | None:
    found = await store.participant_in(AC, conference_sid, True, "agent", include_ended=False)
    return None if found is None else found.call_sid


async def test_reads_go_on_after_the_database_ends_their_connection(tmp_path: Path) -> None:
    backend = Backend("postgres", tmp_path)
    async with backend.open() as store:
        assert isinstance(store, PostgresStore)
        conf = conference()
        async with store.write() as tx:
            await tx.insert_conference(conf)
        p = await add(store, conf, participant(conf, "agent"))
        assert await _read(store, conf.sid) == p.call_sid  # the kept connection is open
        kept = store._participant_reads._conn
        assert kept is not None
        admin = await asyncpg.connect(pg.database_for(str(tmp_path)))
        try:
            ended = await admin.fetchval("SELECT pg_terminate_backend($1)", kept.get_server_pid())
            assert ended
        finally:
            await admin.close()

        def ended_here() -> bool:
            try:
                return kept.is_closed()
            except asyncpg.InterfaceError:
                return True  # asyncpg gave it back to the pool as it ended

        await eventually(ended_here, "the client saw its connection end")
        # Replaced before the next batch is sent: no read fails for it, and
        # the pool has its connection back (it has 4: reads would wait).
        for _ in range(3):
            assert await _read(store, conf.sid) == p.call_sid
        assert store._participant_reads._conn is not kept
        async with store.write() as tx:  # the pool still serves writes
            assert await tx.conference(AC, conf.sid) is not None


async def test_a_batch_the_database_never_answers_fails_and_the_next_goes_on(
    tmp_path: Path,
) -> None:
    # The kept connection's server process is stopped (SIGSTOP): its link is
    # silent, so the server's statement timeout never answers either.
    options = PgOptions(pg.database_for(str(tmp_path)), pool_size=4, statement_timeout_seconds=0.5)
    store = PostgresStore(options)
    await store.open()
    try:
        conf = conference()
        async with store.write() as tx:
            await tx.insert_conference(conf)
        p = await add(store, conf, participant(conf, "agent"))
        assert await _read(store, conf.sid) == p.call_sid
        kept = store._participant_reads._conn
        assert kept is not None
        pid = kept.get_server_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(errors.RollcallError) as raised:
                await _read(store, conf.sid)
            assert raised.value.reason == "STORE_UNAVAILABLE"
        finally:
            os.kill(pid, signal.SIGCONT)
        # Its connection was replaced: the next read is answered.
        assert await _read(store, conf.sid) == p.call_sid
        assert store._participant_reads._conn is not kept
    finally:
        await store.close()
