"""The memory store: the carrier's side of calls (the write transaction's carrier rows).

Rule 1: these rows live in the transaction's own tables, so a carrier report
        and its dedup token commit together or not at all.
Rule 2: a placement remembers the store owner that recorded it; `mine` adds
        every placement of this owner (this process's earlier runs), of any age.
"""

from __future__ import annotations

from service.core.ports.store import Placement
from service.store.memory.tables import ConstraintViolation, PlacementRow, Tables


class CarrierRows:
    """Mixed into the memory write transaction (needs its `tables` and `owner`)."""

    owner: str

    @property
    def tables(self) -> Tables:
        raise NotImplementedError

    async def carrier_call(self, call_sid: str) -> tuple[str, int | None] | None:
        return self.tables.carrier_calls.get(call_sid)

    async def save_carrier_call(
        self, call_sid: str, carrier_conference_sid: str, last_sequence: int | None, at: float
    ) -> None:
        self.tables.carrier_calls[call_sid] = (carrier_conference_sid, last_sequence)
        self.tables.carrier_call_times[call_sid] = at

    async def carrier_event_sequence(self, scope: str) -> int | None:
        return self.tables.carrier_event_sequences.get(scope)

    async def save_carrier_event_sequence(self, scope: str, last_sequence: int) -> None:
        self.tables.carrier_event_sequences[scope] = last_sequence

    async def carrier_callback_seen(self, token: str) -> bool:
        return token in self.tables.carrier_callbacks

    async def record_carrier_callback(self, token: str, at: float) -> None:
        if token in self.tables.carrier_callbacks:
            raise ConstraintViolation(f"UNIQUE: carrier callback {token} was recorded")
        self.tables.carrier_callbacks[token] = at

    async def record_placement(
        self, key: str, account_sid: str, conference_sid: str, at: float
    ) -> None:
        placement = Placement(key, account_sid, conference_sid, at)
        self.tables.placements[key] = PlacementRow(placement, self.owner)

    async def forget_placement(self, key: str) -> None:
        self.tables.placements.pop(key, None)

    async def placements_before(self, at: float, *, mine: bool = False) -> list[Placement]:
        found = [
            row.placement
            for row in self.tables.placements.values()
            if row.placement.placed_at < at or (mine and row.owner == self.owner)
        ]
        return sorted(found, key=lambda p: (p.placed_at, p.key))
