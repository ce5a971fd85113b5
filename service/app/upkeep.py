"""Event compaction of one process: now on demand, and on a timer until stopped.

Rule 1: the callbacks owed are flushed first, so compaction never drops an
        event whose callback was still to be read from it.
Rule 2: dead letters go with the events they report.
Rule 3: a failed pass is logged and the next one still scheduled; none is
        scheduled once cancel() was called.
"""

from __future__ import annotations

import logging

from service.clock import Clock, Timer
from service.config import Settings
from service.core.ports.dead_letters import DeadLetterStore
from service.maintenance import running
from service.rpc.watch import WatchHub
from service.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger("rollcall.app")


class Compaction:
    """Drops events outside the retention window (time and count)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        watch: WatchHub,
        webhooks: WebhookDispatcher | None,
        dead_letters: DeadLetterStore,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.watch = watch
        self.webhooks = webhooks
        self.dead_letters = dead_letters
        self._timer: Timer | None = None
        self._stopping = False

    def schedule(self) -> None:
        s = self.settings

        async def compact() -> None:
            try:
                await self.run()
            except Exception:
                log.exception("event compaction failed")
            if not self._stopping:
                self._timer = self.clock.call_later(s.compaction_interval_seconds, compact)

        self._timer = self.clock.call_later(s.compaction_interval_seconds, compact)

    def cancel(self) -> None:
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()

    async def run(self) -> int:
        """Drop events outside the retention window (time and count)."""
        s = self.settings
        if self.webhooks is not None:
            await self.webhooks.flush()
        async with running("compaction"):
            deleted = await self.watch.compact(
                s.event_retention_seconds, s.event_retention_count, batch=s.retention_batch
            )
            # Dead letters go with the events they report.
            await self.dead_letters.prune()
        return deleted
