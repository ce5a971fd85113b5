"""PostgreSQL: the carrier's side of calls (the WriteTransaction's carrier rows).

Rule 1: the rows are the same as the SQLite store's: each call's carrier conference
        SID and last applied SequenceNumber, each carrier conference participant's
        last applied event SequenceNumber, the idempotency tokens of carrier
        callbacks already applied, and the calls a Create is placing and has not
        recorded yet.
Rule 2: they are written in the caller's transaction, and every value is a parameter.
Rule 3: a token recorded twice by two replicas at once fails one of their
        transactions (the primary key), so a callback is applied once whichever
        replica it reaches.
"""

from __future__ import annotations

from typing import Any

from service.core.ports.store import Placement
from service.store.postgres.held import HeldWrites


class PgCarrierRows:
    """Mixed into the PostgreSQL write transaction (needs its `conn` and `held`)."""

    conn: Any
    held: HeldWrites
    replica_id: str

    async def carrier_call(self, call_sid: str) -> tuple[str, int | None] | None:
        row = await self.conn.fetchrow(
            "SELECT carrier_conference_sid, last_sequence FROM carrier_calls WHERE call_sid = $1",
            call_sid,
        )
        return None if row is None else (row[0], row[1])

    async def save_carrier_call(
        self, call_sid: str, carrier_conference_sid: str, last_sequence: int | None, at: float
    ) -> None:
        await self.held.hold(
            "INSERT INTO carrier_calls (call_sid, carrier_conference_sid, last_sequence,"
            " touched_at) VALUES ($1, $2, $3, $4) ON CONFLICT (call_sid) DO UPDATE SET"
            " carrier_conference_sid = excluded.carrier_conference_sid,"
            " last_sequence = excluded.last_sequence, touched_at = excluded.touched_at",
            (call_sid, carrier_conference_sid, last_sequence, at),
            ("carrier_calls", call_sid),
        )

    async def carrier_event_sequence(self, scope: str) -> int | None:
        value = await self.conn.fetchval(
            "SELECT last_sequence FROM carrier_event_sequences WHERE scope = $1", scope
        )
        return None if value is None else int(value)

    async def save_carrier_event_sequence(self, scope: str, last_sequence: int) -> None:
        await self.conn.execute(
            "INSERT INTO carrier_event_sequences (scope, last_sequence) VALUES ($1, $2)"
            " ON CONFLICT (scope) DO UPDATE SET last_sequence = excluded.last_sequence",
            scope,
            last_sequence,
        )

    async def carrier_callback_seen(self, token: str) -> bool:
        value = await self.conn.fetchval("SELECT 1 FROM carrier_callbacks WHERE token = $1", token)
        return value is not None

    async def record_carrier_callback(self, token: str, at: float) -> None:
        await self.conn.execute(
            "INSERT INTO carrier_callbacks (token, received_at) VALUES ($1, $2)", token, at
        )

    async def record_placement(
        self, key: str, account_sid: str, conference_sid: str, at: float
    ) -> None:
        await self.conn.execute(
            "INSERT INTO placements (call_key, account_sid, conference_sid, placed_at, owner)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (call_key) DO UPDATE SET"
            " account_sid = excluded.account_sid, conference_sid = excluded.conference_sid,"
            " placed_at = excluded.placed_at, owner = excluded.owner",
            key,
            account_sid,
            conference_sid,
            at,
            self.replica_id,
        )

    async def forget_placement(self, key: str) -> None:
        await self.conn.execute("DELETE FROM placements WHERE call_key = $1", key)

    async def placements_before(self, at: float, *, mine: bool = False) -> list[Placement]:
        rows = await self.conn.fetch(
            "SELECT call_key, account_sid, conference_sid, placed_at FROM placements"
            " WHERE placed_at < $1 OR ($2 AND owner = $3) ORDER BY placed_at, call_key",
            at,
            mine,
            self.replica_id,
        )
        return [Placement(row[0], row[1], row[2], float(row[3])) for row in rows]
