"""A short soak on the manual clock: under a steady load the database stops growing.

A real server (SQLite, or PostgreSQL with ROLLCALL_TEST_STORE=postgres) with
every retention window at WINDOW seconds takes the same load each simulated
second: conferences made, joined, left and ended, each Create with a
request_id. Once the windows have passed, what is stored stops growing: the
SQLite file's pages (its free pages are reused) or PostgreSQL's table and
index sizes (vacuumed, as autovacuum would), and the rows kept stay bounded
by the load times the window.
Outcomes only: the clock is simulated, nothing is timed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from tests import pg
from tests.conftest import Harness, started
from tests.e2e.dbquery import rows

WINDOW = 30.0
PER_SECOND = 3  # conference lifecycles started each simulated second
SECONDS = 150

pytestmark = pytest.mark.slow


def stored_bytes(path: Path) -> int:
    """What the database holds on disk: the SQLite file's pages, or the tables and
    indexes of PostgreSQL's public schema once vacuumed (autovacuum's work, which
    runs on real time, not on the test's clock)."""
    if pg.test_store() == "postgres":
        rows(path, "VACUUM")
        (total,) = rows(
            path,
            "SELECT SUM(pg_total_relation_size(c.oid))::bigint FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'",
        )[0]
        return int(total)
    ((pages,),) = rows(path, "PRAGMA page_count")
    ((size,),) = rows(path, "PRAGMA page_size")
    return int(pages) * int(size)


async def lifecycle(h: Harness, conferences: cpb_grpc.ConferenceServiceStub, n: int) -> None:
    made = []
    for who in range(2):
        response = await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=h.parent(f"soak-{n}"),
                from_endpoint="+15005550006",
                to_endpoint=f"+1555123{who:04d}",
                request_id=f"soak-{n}-{who}",
            ),
            metadata=h.md(),
        )
        made.append(response.participant)
    await h.stub.UpdateParticipant(
        pb.UpdateParticipantRequest(name=made[0].name, muted=True), metadata=h.md()
    )
    await h.stub.DeleteParticipant(pb.DeleteParticipantRequest(name=made[1].name), metadata=h.md())
    await conferences.UpdateConference(
        cpb.UpdateConferenceRequest(
            name=h.parent(made[0].conference_sid), status=ppb.CONFERENCE_STATUS_COMPLETED
        ),
        metadata=h.md(),
    )


async def test_under_a_steady_load_the_database_stops_growing(tmp_path: Path) -> None:
    async with started(
        tmp_path,
        sim_ring_seconds=0.5,
        ended_participant_retention_seconds=WINDOW,
        ended_conference_retention_seconds=WINDOW,
        request_id_retention_seconds=WINDOW,
        carrier_call_retention_seconds=WINDOW,
        carrier_callback_retention_seconds=WINDOW,
        dead_letter_retention_seconds=WINDOW,
        audit_retention_seconds=WINDOW,  # audit records have a window of their own
        retention_interval_seconds=5.0,
        event_retention_seconds=WINDOW,
        compaction_interval_seconds=5.0,
        retention_batch=50,
    ) as h:
        conferences = cpb_grpc.ConferenceServiceStub(h.channel)
        database = tmp_path / "rollcall.sqlite3"
        sizes: dict[int, int] = {}
        n = 0
        for second in range(1, SECONDS + 1):
            for _ in range(PER_SECOND):
                n += 1
                await lifecycle(h, conferences, n)
            await h.advance(1.0)
            if second % 10 == 0:
                sizes[second] = stored_bytes(database)
        settled = 3 * int(WINDOW)  # every window passed, and the pass after it
        plateau = [size for second, size in sizes.items() if second >= settled]
        assert max(plateau) <= 1.1 * sizes[settled], sizes
        # What is kept is the load times the window, not everything ever made.
        ((kept,),) = rows(database, "SELECT COUNT(*) FROM participants")
        ((made,),) = rows(database, "SELECT COUNT(*) FROM events")
        assert kept <= 2 * PER_SECOND * (WINDOW + 10), kept
        assert made <= 12 * PER_SECOND * (WINDOW + 10), made
        ((conferences_kept,),) = rows(database, "SELECT COUNT(*) FROM conferences")
        assert conferences_kept <= PER_SECOND * (WINDOW + 10) < n
