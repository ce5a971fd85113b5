"""ANNOUNCEMENT_ENDED comes once: at once from the simulator, and only from the
carrier's announcement-end report when the carrier adapter reports
announcements (a real carrier). Real SQLite store, the simulated carrier."""

from __future__ import annotations

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.events import EventType
from tests.fakes.core import AC, command, simulated_core


@pytest.mark.parametrize("reports", [False, True])
async def test_announcement_ended_emitted_only_when_no_carrier_report(
    reports: bool,
) -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        participants, seen = rig.participants, rig.seen
        rig.carrier.reports_announcements = reports
        created, _ = await participants.create(command())
        await rig.clock.advance(2.0)
        seen.clear()
        ref = ConferenceRef(AC, created.conference_sid)
        await participants.update(
            ref, created.call_sid, UpdateCommand(announce_url="https://example.com/a.xml")
        )
        ended = [e for e in seen if e.type is EventType.ANNOUNCEMENT_ENDED]
        assert len(ended) == (0 if reports else 1)
