"""Retention: what Rollcall keeps, for how long, and the pass that removes the rest.

Rule 1: everything that accumulates has a window: ended participants, ended
        conferences (with their last events), Create request_ids, the
        carrier's rows of ended calls, carrier callback idempotency tokens,
        dead letters, audit records. A window of 0 keeps that kind for ever.
Rule 2: the cutoffs are decided from the clock alone (`cutoffs`, no I/O); the
        pass then asks the store to expire each kind, in batches of at most
        `batch` rows, one short transaction each, until one removes nothing:
        changes wait at most one batch, never a pass.
Rule 3: the order keeps every rule of the store: participants before the
        conferences that hold them, request_ids after the participants they
        name (a request_id whose participant went has lapsed with it).
Rule 4: one process runs the pass at a time (the app: on PostgreSQL, the
        replica holding the lease); running it twice removes nothing twice.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable

from service.clock import Clock
from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.store import Store


class Kind(enum.StrEnum):
    PARTICIPANTS = "participants"
    CONFERENCES = "conferences"
    REQUEST_IDS = "request_ids"
    CARRIER_CALLS = "carrier_calls"
    CARRIER_CALLBACKS = "carrier_callbacks"
    DEAD_LETTERS = "dead_letters"
    AUDIT = "audit"
    # Not removed but redacted in place (service.core.privacy.PersonalRetention).
    PERSONAL_DATA = "personal_data"


@dataclasses.dataclass(frozen=True)
class Windows:
    """Seconds each kind is kept after it ended (was recorded, given up on)."""

    participants: float
    conferences: float
    request_ids: float
    carrier_calls: float
    carrier_callbacks: float
    dead_letters: float
    # Audit records (service.core.audit), kept apart from the event log.
    audit: float = 0.0


# Rule 3's order.
ORDER = (
    Kind.PARTICIPANTS,
    Kind.CONFERENCES,
    Kind.REQUEST_IDS,
    Kind.CARRIER_CALLS,
    Kind.CARRIER_CALLBACKS,
    Kind.DEAD_LETTERS,
    Kind.AUDIT,
)


def cutoffs(now: float, windows: Windows) -> list[tuple[Kind, float]]:
    """(kind, clock time before which it goes), in pass order; a kind kept for
    ever (window 0 or less) is left out."""
    found = []
    for kind in ORDER:
        window = float(getattr(windows, kind.value))
        if window > 0:
            found.append((kind, now - window))
    return found


class Retention:
    def __init__(
        self,
        store: Store,
        dead_letters: DeadLetterStore,
        clock: Clock,
        windows: Windows,
        *,
        batch: int = 100,
    ) -> None:
        self.windows = windows
        self.clock = clock
        self.batch = max(1, batch)
        self._expire: dict[Kind, Callable[[float, int], Awaitable[int]]] = {
            Kind.PARTICIPANTS: store.expire_participants,
            Kind.CONFERENCES: store.expire_conferences,
            Kind.REQUEST_IDS: store.expire_requests,
            Kind.CARRIER_CALLS: store.expire_carrier_calls,
            Kind.CARRIER_CALLBACKS: store.expire_carrier_callbacks,
            Kind.DEAD_LETTERS: dead_letters.expire,
            Kind.AUDIT: store.expire_audit,
        }

    async def run(self) -> dict[Kind, int]:
        """One pass (Rule 2): how many rows of each kind went."""
        removed: dict[Kind, int] = {}
        for kind, before in cutoffs(self.clock.now(), self.windows):
            expire = self._expire[kind]
            total = 0
            while True:
                done = await expire(before, self.batch)
                total += done
                if not done:
                    break
            removed[kind] = total
        return removed
