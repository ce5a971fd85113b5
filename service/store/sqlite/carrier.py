"""SQLite: the carrier's side of calls (the WriteTransaction's carrier rows).

Rule 1: the rows the carrier port needs durably live here: each call's carrier
        conference SID and last applied SequenceNumber, each carrier conference
        participant's last applied event SequenceNumber, the idempotency tokens of
        carrier callbacks already applied, and the calls a Create is placing and has
        not recorded yet (placements).
Rule 2: every value is a parameter.
Rule 3: the rows are written in the caller's write transaction, so a report and its
        dedup token commit together.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from service.core.ports.store import Placement


class CarrierRows:
    """Mixed into the SQLite write transaction (needs its `_one`, `_all` and
    `raw`: its writes run inline, as every row write of a change does)."""

    raw: sqlite3.Connection

    async def _one(self, sql: str, *args: Any) -> Any: ...

    async def _all(self, sql: str, *args: Any) -> Any: ...

    async def carrier_call(self, call_sid: str) -> tuple[str, int | None] | None:
        row = await self._one(
            "SELECT carrier_conference_sid, last_sequence FROM carrier_calls WHERE call_sid = ?",
            call_sid,
        )
        return None if row is None else (row[0], row[1])

    async def save_carrier_call(
        self, call_sid: str, carrier_conference_sid: str, last_sequence: int | None, at: float
    ) -> None:
        self.raw.execute(
            "INSERT INTO carrier_calls (call_sid, carrier_conference_sid, last_sequence,"
            " touched_at) VALUES (?, ?, ?, ?) ON CONFLICT (call_sid) DO UPDATE SET"
            " carrier_conference_sid = excluded.carrier_conference_sid,"
            " last_sequence = excluded.last_sequence, touched_at = excluded.touched_at",
            (call_sid, carrier_conference_sid, last_sequence, at),
        )

    async def carrier_event_sequence(self, scope: str) -> int | None:
        row = await self._one(
            "SELECT last_sequence FROM carrier_event_sequences WHERE scope = ?", scope
        )
        return None if row is None else int(row[0])

    async def save_carrier_event_sequence(self, scope: str, last_sequence: int) -> None:
        self.raw.execute(
            "INSERT INTO carrier_event_sequences (scope, last_sequence) VALUES (?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET last_sequence = excluded.last_sequence",
            (scope, last_sequence),
        )

    async def carrier_callback_seen(self, token: str) -> bool:
        row = await self._one("SELECT 1 FROM carrier_callbacks WHERE token = ?", token)
        return row is not None

    async def record_carrier_callback(self, token: str, at: float) -> None:
        self.raw.execute(
            "INSERT INTO carrier_callbacks (token, received_at) VALUES (?, ?)", (token, at)
        )

    async def record_placement(
        self, key: str, account_sid: str, conference_sid: str, at: float
    ) -> None:
        self.raw.execute(
            "INSERT INTO placements (call_key, account_sid, conference_sid, placed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (call_key) DO UPDATE SET"
            " account_sid = excluded.account_sid, conference_sid = excluded.conference_sid,"
            " placed_at = excluded.placed_at",
            (key, account_sid, conference_sid, at),
        )

    async def forget_placement(self, key: str) -> None:
        self.raw.execute("DELETE FROM placements WHERE call_key = ?", (key,))

    async def placements_before(self, at: float, *, mine: bool = False) -> list[Placement]:
        # One process per database file: every placement is this process's.
        rows = await self._all(
            "SELECT call_key, account_sid, conference_sid, placed_at FROM placements"
            " WHERE placed_at < ? OR ? ORDER BY placed_at, call_key",
            at,
            mine,
        )
        return [Placement(row[0], row[1], row[2], float(row[3])) for row in rows]
