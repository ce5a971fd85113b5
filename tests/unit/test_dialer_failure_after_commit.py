"""A dialer that fails after a change committed: the committed change is still
announced, and a call that could not be placed ends `failed` (leave reason
participant_add_failed) as a change of its own. Real SQLite store, the
simulated dialer with its place/hangup made to fail (a faulty adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.model import Event, EventType, LeaveReason, ParticipantStatus
from service.core.ports.dialer import CallRequest
from service.core.usecases import Participants
from service.dialer.simulated import SimulatedDialer
from service.store.sqlite import SqliteStore
from tests.unit.test_rules import AC, command


class FaultyDialer(SimulatedDialer):
    """The simulator, except that placing or hanging up can be made to raise."""

    fail_place = False
    fail_hangup = False

    def place(self, call: CallRequest) -> float:
        if self.fail_place:
            raise RuntimeError("carrier unreachable")
        return super().place(call)

    async def hangup(self, call_sid: str) -> None:
        if self.fail_hangup:
            raise RuntimeError("carrier unreachable")
        await super().hangup(call_sid)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[tuple[Participants, FaultyDialer, list[Event]]]:
    clock = ManualClock()
    store = SqliteStore(str(tmp_path / "core.sqlite3"))
    await store.open()
    seen: list[Event] = []

    async def sink(call_sid: str, progress: object, at: float) -> None:
        await participants.on_progress(call_sid, progress, at)  # type: ignore[arg-type]

    dialer = FaultyDialer(clock, sink, ring_seconds=1.0, calls_per_second=0)
    participants = Participants(store, dialer, clock)
    participants.subscribe(seen.extend)
    try:
        yield participants, dialer, seen
    finally:
        await dialer.close()
        await store.close()


async def test_place_failing_after_commit_announces_and_fails_the_call(
    core: tuple[Participants, FaultyDialer, list[Event]],
) -> None:
    participants, dialer, seen = core
    dialer.fail_place = True
    created, _ = await participants.create(command())
    # The committed Create was announced, then the failure as its own change.
    assert [e.type for e in seen[:2]] == [
        EventType.CALL_STATUS_CHANGED,
        EventType.PARTICIPANT_LEFT,
    ]
    assert seen[0].participant is not None
    assert seen[0].participant.status is ParticipantStatus.QUEUED
    assert seen[1].revision == seen[0].revision + 1
    left = seen[1].participant
    assert left is not None and left.call_sid == created.call_sid
    assert left.status is ParticipantStatus.FAILED
    assert left.leave_reason is LeaveReason.PARTICIPANT_ADD_FAILED
    stored = await participants.fetch(
        ConferenceRef(AC, created.conference_sid), created.call_sid, include_ended=True
    )
    assert stored.status is ParticipantStatus.FAILED


async def test_hangup_failing_after_commit_still_announces(
    core: tuple[Participants, FaultyDialer, list[Event]],
) -> None:
    participants, dialer, seen = core
    created, _ = await participants.create(command())
    dialer.fail_hangup = True
    seen.clear()
    await participants.delete(ConferenceRef(AC, created.conference_sid), created.call_sid, "")
    assert [e.type for e in seen] == [EventType.PARTICIPANT_LEFT, EventType.CONFERENCE_ENDED]
