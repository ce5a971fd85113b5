"""The PostgreSQL store's rules across replicas (two in-process servers and
several stores on one database): migrations applied once when many start at
once; a request_id, an active friendly name and a revision mean one thing
whichever replica a concurrent request reaches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.core.retention import Kind
from service.replicas import CALLBACK_LEASE
from service.store.postgres.feed import PgFeed
from service.store.postgres.schema import PgOptions, migrations
from service.store.postgres.store import PostgresStore
from tests import pg
from tests.conftest import make_settings, serving
from tests.e2e.helpers import create, expect_error, fetch


async def test_replicas_starting_at_once_migrate_once(tmp_path: Path) -> None:
    dsn = pg.database_for(str(tmp_path))
    stores = [PostgresStore(PgOptions(dsn, pool_size=2)) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        conn = await asyncpg.connect(dsn)
        try:
            versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        finally:
            await conn.close()
        assert sorted(versions) == [version for version, _, _ in migrations()]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_concurrent_requests_on_two_replicas_agree(tmp_path: Path) -> None:
    common = {"database": pg.database_for(str(tmp_path)), "http_listen": ""}
    async with (
        serving(make_settings(tmp_path, replica_id="a", **common)) as a,
        serving(make_settings(tmp_path, replica_id="b", **common)) as b,
    ):
        # The same new friendly name on both at once: one conference.
        made = await asyncio.gather(*(create(h, "fresh") for h in (a, b, a, b)))
        assert len({r.participant.conference_sid for r in made}) == 1
        conference = made[0].participant.conference_sid
        # The same request_id on both at once: one participant, dialed once.
        again = await asyncio.gather(
            *(create(h, conference, request_id="same-request") for h in (a, b, a, b))
        )
        assert len({r.participant.call_sid for r in again}) == 1
        # Concurrent changes on both (some are no-ops): the log has no gap.
        call_sid = made[0].participant.call_sid

        async def mute(i: int) -> int:
            h = (a, b)[i % 2]
            r = await h.stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=h.name(conference, call_sid), muted=i % 2 == 0),
                metadata=h.md(),
            )
            return int(r.participant.revision)

        revisions = await asyncio.gather(*(mute(i) for i in range(20)))
        page = await a.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=a.parent(conference)), metadata=a.md()
        )
        assert max(revisions) <= page.revision
        events = await a.app.store.events(conference, 0, 1000)
        assert [e.revision for e in events] == list(range(1, page.revision + 1))


@pytest.mark.slow
async def test_a_change_blocked_past_the_statement_timeout_is_unavailable(
    tmp_path: Path,
) -> None:
    dsn = pg.database_for(str(tmp_path))
    settings = make_settings(
        tmp_path, database=dsn, http_listen="", database_statement_timeout_seconds=0.5
    )
    async with serving(settings) as h:
        p = (await create(h, "room")).participant
        request = pb.UpdateParticipantRequest(name=h.name(p.conference_sid, p.call_sid), muted=True)
        blocker = await asyncpg.connect(dsn)
        try:
            async with blocker.transaction():  # another session holds the conference row
                await blocker.execute(
                    "SELECT 1 FROM conferences WHERE sid = $1 FOR UPDATE", p.conference_sid
                )
                error = await expect_error(
                    h.stub.UpdateParticipant(request, metadata=h.md()),
                    grpc.StatusCode.UNAVAILABLE,
                )
                assert error.reason == "STORE_UNAVAILABLE"
        finally:
            await blocker.close()
        assert not (await fetch(h, p.conference_sid, p.call_sid)).muted  # changed nothing
        updated = await h.stub.UpdateParticipant(request, metadata=h.md())
        assert updated.participant.muted


@pytest.mark.slow
async def test_pooled_connections_hold_no_session_state_after_use(tmp_path: Path) -> None:
    """The pool hands connections back without asyncpg's reset query: that is
    only right while nothing done on a pooled connection outlives its
    transaction (session advisory locks, LISTEN). A serving replica's work
    (changes, reads, compaction under its transaction lock) is checked: the
    only session lock held is the callback lease, on a connection of its own."""
    common = {"database": pg.database_for(str(tmp_path)), "http_listen": ""}
    async with serving(make_settings(tmp_path, replica_id="a", **common)) as a:
        made = await create(a, "room")
        await fetch(a, made.participant.conference_sid, made.participant.call_sid)
        await a.app.store.compact(older_than=10**12, keep=0)
        conn = await asyncpg.connect(common["database"])
        try:
            rows = await conn.fetch(
                "SELECT l.pid, (l.classid::bigint << 32) | l.objid::bigint AS key"
                " FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND s.datname = current_database()"
            )
        finally:
            await conn.close()
        assert {row["key"] for row in rows} <= {CALLBACK_LEASE}, rows
        assert len({row["pid"] for row in rows}) <= 1


async def test_a_replica_hearing_its_own_commit_back_does_not_look_for_callbacks(
    tmp_path: Path,
) -> None:
    """Every replica hears its own NOTIFYs too. The callback leader already has
    the events of its own commits (committed), so the change feed does not
    pass a notification of one of them on, and the leader does not scan the
    store for it; another replica's newer commit does send it scanning."""
    common = {"database": pg.database_for(str(tmp_path)), "http_listen": ""}
    async with serving(make_settings(tmp_path, replica_id="a", **common)) as a:
        coordinator, feed = a.app.coordinator, a.app.feed
        assert coordinator is not None
        assert isinstance(feed, PgFeed)
        await coordinator.wait_leading()
        made = await create(a, "room")
        conference, revision = made.participant.conference_sid, made.participant.revision
        coordinator._poked.clear()
        feed.heard(conference, revision)  # its own commit, heard back
        assert not coordinator._poked.is_set()
        feed.heard(conference, revision + 1000)  # newer: committed elsewhere
        assert coordinator._poked.is_set()


async def test_the_retention_pass_runs_on_the_lease_holder_only(tmp_path: Path) -> None:
    common = {
        "database": pg.database_for(str(tmp_path)),
        "http_listen": "",
        "ended_participant_retention_seconds": 60.0,
        "retention_interval_seconds": 10**9,  # passes run when the test says
    }
    async with (
        serving(make_settings(tmp_path, replica_id="a", **common)) as a,
        serving(make_settings(tmp_path, replica_id="b", **common)) as b,
    ):
        assert a.app.coordinator is not None and a.app.coordinator.leader
        assert b.app.coordinator is not None and not b.app.coordinator.leader
        made = (await create(a, "retained")).participant
        await a.advance(3)
        await a.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=a.name("retained", made.call_sid)),
            metadata=a.md(),
        )
        for h in (a, b):
            await h.advance(120)
        assert await b.app.retain() == {}  # not the lease holder: nothing
        # Its conference ended with it: named by SID from here on.
        conference = made.conference_sid
        assert await fetch(a, conference, made.call_sid, include_ended=True)
        removed = await a.app.retain()
        assert removed[Kind.PARTICIPANTS] == 1
        await expect_error(
            b.stub.FetchParticipant(
                pb.FetchParticipantRequest(
                    name=b.name(conference, made.call_sid), include_ended=True
                ),
                metadata=b.md(),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
