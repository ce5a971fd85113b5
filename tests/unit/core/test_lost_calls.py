"""Unit tests: lost calls (issue 25). An in-process carrier is never looked up; a
gone call whose participant already ended changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core import lost_calls
from service.core.commands import ConferenceRef
from service.core.lost_calls import QuietCalls
from service.core.ports.carrier import CallReport, CallTarget, OpenCall
from tests.fakes.core import command, simulated_core


class Asked(SimulatedCarrier):
    """The simulator, noting every call it is asked about."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    async def reconcile(self, open_calls: Sequence[OpenCall]) -> list[CallReport]:
        self.asked.extend(c.key for c in open_calls)
        return await super().reconcile(open_calls)


async def test_an_in_process_carrier_loses_no_report_so_nothing_is_looked_up() -> None:
    async with simulated_core(Asked) as rig:
        await rig.participants.create(command())
        await rig.clock.advance(5)
        await rig.clock.advance(3600)
        quiet = QuietCalls(rig.participants.core.runtime, 60.0)
        assert await quiet.run() == 0
        assert rig.carrier.asked == []


async def test_a_gone_call_of_an_ended_participant_changes_nothing() -> None:
    async with simulated_core(Asked) as rig:
        p, _ = await rig.participants.create(command(to_endpoint="+15551230099"))
        await rig.clock.advance(5)
        runtime = rig.participants.core.runtime
        rig.seen.clear()
        await rig.participants.delete(
            ConferenceRef(p.account_sid, p.conference_sid), p.call_sid, ""
        )
        ended = len(rig.seen)
        await lost_calls.gone(runtime, CallTarget(p.account_sid, p.conference_sid, p.call_sid))
        assert len(rig.seen) == ended
        assert rig.carrier.asked == []
