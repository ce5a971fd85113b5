"""ANNOUNCEMENT_ENDED comes once: at once from the simulator, and only from the
carrier's announcement-end report when the telephony adapter reports
announcements (a real carrier). Real SQLite store, the simulated telephony."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.clock import ManualClock
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.model import Event, EventType
from service.core.ports.telephony import Report
from service.core.usecases import Participants
from service.dialer.simulated_telephony import SimulatedTelephony
from service.store.sqlite import SqliteStore
from tests.unit.test_rules import AC, command


@pytest.mark.parametrize("reports", [False, True])
async def test_announcement_ended_emitted_only_when_no_carrier_report(
    tmp_path: Path, reports: bool
) -> None:
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "core.sqlite3"))
    await store.open()
    seen: list[Event] = []

    async def sink(report: Report) -> None:
        await participants.on_report(report)

    telephony = SimulatedTelephony(clock, sink, ring_seconds=1.0, calls_per_second=0)
    telephony.reports_announcements = reports
    participants = Participants(store, telephony, clock)
    participants.subscribe(seen.extend)
    try:
        created, _ = await participants.create(command())
        await clock.advance(2.0)
        seen.clear()
        ref = ConferenceRef(AC, created.conference_sid)
        await participants.update(
            ref, created.call_sid, UpdateCommand(announce_url="https://example.com/a.xml")
        )
        ended = [e for e in seen if e.type is EventType.ANNOUNCEMENT_ENDED]
        assert len(ended) == (0 if reports else 1)
    finally:
        await telephony.close()
        await store.close()
