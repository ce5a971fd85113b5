"""What opening a store gives the app: its parts, and the hooks a part may offer.

Rule 1: each store package opens from the settings into one StoreParts (see
        service.store.choose.open_store); the app asks for parts, never for a type.
Rule 2: a part a store lacks is None: `leases` only where several replicas
        share the database. Both stores offer `health`, a cheap probe the
        health service asks periodically (see service.health).
Rule 3: the store opens before anything uses it and the feed starts once its
        subscribers are in place; they stop in reverse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Store
from service.core.records import Participant


class Lease(Protocol):
    async def check(self) -> bool:
        """Take the lease if free, or confirm it is still held; True while held."""

    async def release(self) -> None:
        """Give the lease up at once (a clean stop)."""


class Leases(Protocol):
    """Replicas sharing one database: each holds its calls while its heartbeat
    is fresh, and a named lease is held by one replica at a time."""

    @property
    def heartbeat_timeout(self) -> float:
        """Seconds after its last heartbeat that a replica counts as gone."""

    async def heartbeat(self) -> None:
        """This replica is alive."""

    async def retire(self) -> None:
        """This replica stops: survivors may claim its calls at once."""

    async def claim_orphans(self) -> list[Participant]:
        """Active calls of replicas whose heartbeat expired, claimed by this one."""

    def lease(self, key: int) -> Lease:
        """The lease named `key`, not yet taken."""


class Health(Protocol):
    """Whether the store can serve now, asked by the health service."""

    async def probe(self) -> None:
        """A cheap read: returns once the store answered it, raises when the
        store cannot serve (the caller bounds how long it waits)."""

    def on_lost(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever a request finds the store lost for
        certain (between probes), so health need not wait for the next one."""


@dataclasses.dataclass(frozen=True)
class StoreParts:
    store: Store
    dead_letters: DeadLetterStore
    feed: ChangeFeed
    leases: Leases | None = None
    health: Health | None = None
