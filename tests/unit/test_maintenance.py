"""Unit tests: the maintenance pass also looks up quiet calls, where it leads (issue 25)."""

from __future__ import annotations

from service.clock import ManualClock
from service.config import Settings
from service.core.lost_calls import QuietCalls
from service.maintenance import RetentionPass
from service.store.memory.dead_letters import MemoryDeadLetters
from service.store.memory.store import MemoryStore
from tests.fakes.twilio_core import core_on_twilio


class Counted(QuietCalls):
    runs = 0

    async def run(self) -> int:
        self.runs += 1
        return await super().run()


async def test_quiet_calls_are_looked_up_in_each_pass_only_where_it_leads() -> None:
    async with core_on_twilio() as rig:
        store = MemoryStore()
        await store.open()
        leading = [False]
        clock = ManualClock()
        made = RetentionPass.from_settings(
            Settings(), store, MemoryDeadLetters(store), clock, lambda: leading[0]
        )
        quiet = Counted(rig.participants.core.runtime, 60.0)
        made.quiet_calls = quiet
        assert await made.run() == {}
        assert quiet.runs == 0
        leading[0] = True
        await made.run()
        assert quiet.runs == 1
        await store.close()
