"""The core, put together: one runtime and the use cases that share it.

Rule 1: every use case takes the runtime and nothing else; none takes another.
Rule 2: the carrier's reports reach the core through `reports.on_report`.
"""

from __future__ import annotations

import dataclasses
import functools

from service.clock import Clock
from service.core import lost_calls, recovery
from service.core.conferences import Conferences
from service.core.participants import Participants
from service.core.ports.carrier import Carrier
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Store
from service.core.privacy import Privacy
from service.core.records import Participant
from service.core.reports import Reports
from service.core.runtime import Runtime
from service.core.speech import DEFAULT_INTERVAL


@dataclasses.dataclass
class Core:
    runtime: Runtime
    participants: Participants
    conferences: Conferences
    reports: Reports
    privacy: Privacy

    async def recover(self, found: list[Participant] | None = None) -> tuple[int, int]:
        """After a restart: the carrier's word on every open call (see recovery)."""
        return await recovery.calls(self.runtime, found)

    async def recover_placements(self, older_than_seconds: float, *, at_start: bool) -> int:
        """End calls placed and never recorded (see recovery)."""
        return await recovery.placements(self.runtime, older_than_seconds, at_start=at_start)


def build(
    store: Store,
    carrier: Carrier,
    clock: Clock,
    feed: ChangeFeed,
    *,
    speaking_interval: float = DEFAULT_INTERVAL,
) -> Core:
    runtime = Runtime(store, carrier, clock, feed)
    runtime.call_gone = functools.partial(lost_calls.gone, runtime)
    reports = Reports(runtime, speaking_interval)
    return Core(runtime, Participants(runtime), Conferences(runtime), reports, Privacy(runtime))
