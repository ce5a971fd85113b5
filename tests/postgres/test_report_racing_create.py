"""A carrier report that races the commit of its own Create, on PostgreSQL.

The simulated carrier reports a call answered at once (initiated, ringing,
in-progress: one report; dialing alone would be recorded with the Create,
service.core.create Rule 5) as soon as it is placed, while the Create that
placed it is still writing its row. On PostgreSQL the report's read can
start before that commit and answer after the Create has finished: the read
saw no row, and the Create was no longer among those still placing a call.
Under load this left a participant `queued` for good
(tests/e2e/test_fuzz_grpc.py, on PostgreSQL only).

The race is made certain, not likely, inside the real database: the server
connects as a role that row-level security applies to, and a policy on
`participants` makes two statements wait on advisory locks the test holds:
the Create's INSERT (so its commit waits) and the report's read (so it
answers only after the Create has answered its caller). The server is a real
`rollcall serve` process; the test only holds and releases the locks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg
import grpc

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.poll import eventually

MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
ROLE = "rollcall_gated"
REPORT_LOCK, INSERT_LOCK = 1, 2
# The statements the gate holds (the report's read: tx.participant_by_call_sid).
REPORT_READ = "SELECT sid FROM conferences WHERE sid = (SELECT conference_sid FROM participants%"
# The Create's insert, alone or among its held writes (service.store.postgres.held).
CREATE_INSERT = "%INSERT INTO participants (%"
GATE = f"""
CREATE FUNCTION rollcall_gate() RETURNS boolean LANGUAGE plpgsql STABLE COST 0.1 AS $$
BEGIN
  IF current_query() LIKE '{REPORT_READ}' THEN
    PERFORM pg_advisory_xact_lock_shared({REPORT_LOCK});
  ELSIF current_query() LIKE '{CREATE_INSERT}' THEN
    PERFORM pg_advisory_xact_lock_shared({INSERT_LOCK});
  END IF;
  RETURN true;
END $$;
ALTER TABLE participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE participants FORCE ROW LEVEL SECURITY;
CREATE POLICY gate ON participants USING (rollcall_gate()) WITH CHECK (rollcall_gate());
"""


async def gated_database(key: str) -> tuple[str, str]:
    """A fresh database owned by a role that is not a superuser (row-level
    security applies to it), read by sequential scans (so the gate sees the
    committed rows a read passes over): (the server's DSN, the superuser's)."""
    server = pg.server()
    name = "t_" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]
    admin = await asyncpg.connect(server.dsn("postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", ROLE)
        if not exists:
            await admin.execute(f"CREATE ROLE {ROLE} LOGIN")
        await admin.execute(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            await admin.execute(f'ALTER DATABASE "{name}" SET {setting} = off')
    finally:
        await admin.close()
    return f"postgresql://{ROLE}@127.0.0.1:{server.port}/{name}", server.dsn(name)


async def waiting_on_the_gate(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    return sorted(row[0] for row in rows)


async def test_a_report_whose_read_races_the_create_commit_is_applied(tmp_path: Path) -> None:
    dsn, admin_dsn = await gated_database(str(tmp_path))
    server = ServerProcess(
        tmp_path / "unused.sqlite3",
        ROLLCALL_DATABASE=dsn,
        ROLLCALL_SIM_RING_SECONDS="0",  # answered the moment it is placed
    )
    server.start()
    admin: asyncpg.Connection | None = None
    channel = grpc.aio.insecure_channel(server.target)
    stub = pb_grpc.ParticipantServiceStub(channel)

    async def create(conference: str) -> ppb.Participant:
        request = pb.CreateParticipantRequest(
            parent=f"accounts/{ACCOUNT_SID}/conferences/{conference}",
            from_endpoint="+15005550006",
            to_endpoint="+15551230000",
        )
        return (await stub.CreateParticipant(request, metadata=MD, timeout=60)).participant

    async def connected(p: ppb.Participant) -> bool:
        name = f"accounts/{ACCOUNT_SID}/conferences/{p.conference_sid}/participants/{p.call_sid}"
        got = await stub.FetchParticipant(pb.FetchParticipantRequest(name=name), metadata=MD)
        return bool(got.participant.status == ppb.PARTICIPANT_STATUS_CONNECTED)

    try:
        # A committed row for the gate's scans to pass over, then the gate.
        first = await create("before")
        await eventually(lambda: connected(first), "the first call is answered")
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(GATE)
        await admin.execute("SELECT pg_advisory_lock($1), pg_advisory_lock($2)", 1, 2)

        creating = stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=f"accounts/{ACCOUNT_SID}/conferences/race",
                from_endpoint="+15005550006",
                to_endpoint="+15551230000",
            ),
            metadata=MD,
            timeout=60,
        )

        async def both_held() -> bool:
            assert admin is not None
            held = await waiting_on_the_gate(admin)
            return len(held) == 2

        # The call is placed; the Create's INSERT and the report's read wait.
        await eventually(both_held, "the Create's insert and the report's read wait on the gate")
        queries = await waiting_on_the_gate(admin)
        assert sum(CREATE_INSERT.strip("%") in query for query in queries) == 1, queries
        assert sum(query.startswith(REPORT_READ.rstrip("%")) for query in queries) == 1, queries

        # The Create commits and answers; only then does the report's read answer.
        await admin.execute("SELECT pg_advisory_unlock($1)", INSERT_LOCK)
        created = (await creating).participant
        assert created.status == ppb.PARTICIPANT_STATUS_QUEUED
        await admin.execute("SELECT pg_advisory_unlock($1)", REPORT_LOCK)

        await eventually(lambda: connected(created), "the raced call's report is applied")
    finally:
        await channel.close()
        if admin is not None:
            await admin.close()
        server.close()
