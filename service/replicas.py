"""Several replicas on one database: work that must happen once.

Rule 1: every replica refreshes its heartbeat; the calls it dials are its own,
        and once its heartbeat expires a survivor claims them (each call gets
        one new owner) and resolves them as a restart would.
Rule 2: status callbacks go out from the one replica holding the callback
        lease, so each conference's callbacks leave in order from one place;
        when the holder dies another takes the lease at its next heartbeat and
        continues from the durable cursors.
Rule 3: on the change feed only the lease holder acts: this replica's commits
        go to its dispatcher, another replica's wake one backlog scan
        (coalesced); the feed never passes on this replica's own commits as
        heard, so they cost no scan.
Rule 4: the lease holder also ends the calls a replica placed and died before
        recording (placements older than the placing bound, so never a live
        replica's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from prometheus_client import Gauge

from service.core.assemble import Core
from service.core.events import Event
from service.metrics import REGISTRY
from service.store.parts import Leases
from service.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger("rollcall.replicas")

LEASE_HELD = Gauge(
    "rollcall_replica_callback_lease_held",
    "1 while this replica holds the callback lease (it sends every status callback).",
    registry=REGISTRY,
)

# pg_advisory_lock key of the callback lease.
CALLBACK_LEASE = 0x726F6C6C63616C62


class Coordinator:
    def __init__(
        self,
        leases: Leases,
        core: Core,
        webhooks: WebhookDispatcher,
        *,
        heartbeat_seconds: float,
        placement_bound_seconds: float = 20.0,
    ) -> None:
        self.leases = leases
        self.core = core
        self.webhooks = webhooks
        self.heartbeat_seconds = heartbeat_seconds
        # Age after which a placement is past any live replica's Create.
        self.placement_bound_seconds = placement_bound_seconds
        self.lease = leases.lease(CALLBACK_LEASE)
        self.leader = False
        self._leading = asyncio.Event()  # set while self.leader
        self._task: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._poked = asyncio.Event()
        self._stopping = False
        self.ticks = 0
        # Loop time since which every round has succeeded (None: the last failed).
        self._healthy_since: float | None = None

    # -- the change feed's subscriber ------------------------------------------

    def committed(self, events: Sequence[Event]) -> None:
        """This replica's change: delivered from here while it leads."""
        if self.leader:
            self.webhooks.committed(events)

    def heard(self, conference_sid: str, revision: int) -> None:
        """Another replica committed: the leader looks for callbacks it owes."""
        if self.leader:
            self._poked.set()

    def watching(self) -> tuple[str, ...]:
        """None: the heartbeat's scan finds whatever a lost notification hid."""
        return ()

    async def start(self) -> None:
        """First round before serving: heartbeat, lease, then restart recovery."""
        self._healthy_since = asyncio.get_running_loop().time()
        await self.leases.heartbeat()
        await self._lead()
        await self.core.recover()
        await self.core.recover_placements(self.placement_bound_seconds, at_start=True)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        # The flag as well as the cancel: a cancel that lands as the loop's
        # wait ends must not leave the loop running.
        self._stopping = True
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sweep is not None:
            sweep, self._sweep = self._sweep, None
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.leases.retire(), self.heartbeat_seconds)
        await self.lease.release()
        self.leader = False
        self._leading.clear()
        LEASE_HELD.set(0)

    async def wait_leading(self) -> None:
        """Until this replica holds the callback lease."""
        await self._leading.wait()

    async def _lead(self) -> None:
        held = await self.lease.check()
        if held and not self.leader:
            self.leader = True
            self._leading.set()
            LEASE_HELD.set(1)
            log.info("leading status callback delivery")
            await self.webhooks.start()
        elif not held and self.leader:
            self.leader = False
            self._leading.clear()
            LEASE_HELD.set(0)
            log.info("no longer leading status callback delivery")
            await self.webhooks.stop()

    async def tick(self) -> None:
        """One round: heartbeat, lease, callbacks owed, calls of dead replicas."""
        await self.leases.heartbeat()
        await self._lead()
        if self.leader:
            self._poked.clear()
            await self.webhooks.rescan()
            # Calls placed by replicas that died before recording them (one
            # replica looks: the leader; the age bound spares live ones').
            self._sweep_placements()
        now = asyncio.get_running_loop().time()
        if self._healthy_since is None:
            self._healthy_since = now
        # After an outage (of this replica or the database) every replica's
        # heartbeat looks old: claim only once live ones have had time to renew.
        if now - self._healthy_since < self.leases.heartbeat_timeout:
            self.ticks += 1
            return
        orphans = await self.leases.claim_orphans()
        if orphans:
            log.info("claimed calls of a stopped replica", extra={"calls": len(orphans)})
            await self.core.recover(orphans)
        self.ticks += 1

    def _sweep_placements(self) -> None:
        """One placement round at a time, apart from the heartbeat: a carrier
        slow to answer for many placements never delays it."""
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.get_running_loop().create_task(self._placements())

    async def _placements(self) -> None:
        try:
            await self.core.recover_placements(self.placement_bound_seconds, at_start=False)
        except Exception:
            log.warning("placement recovery round failed", exc_info=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.heartbeat_seconds
        while not self._stopping:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow
            # a cancel that arrives just as the wait completes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, due - loop.time())):
                    await self._poked.wait()
            try:
                if loop.time() >= due:
                    due = loop.time() + self.heartbeat_seconds
                    await self.tick()
                elif self.leader and self._poked.is_set():
                    # Between heartbeats, other replicas' commits only cost a
                    # backlog scan (coalesced: one scan for many pokes).
                    self._poked.clear()
                    await self.webhooks.rescan()
                else:
                    self._poked.clear()
            except Exception:
                self._healthy_since = None
                log.warning("replica coordination round failed", exc_info=True)
