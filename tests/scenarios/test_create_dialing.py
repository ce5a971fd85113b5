"""A Create and the carrier's dialing at placing: one commit, as the carrier's
revisions after the Create's (service.core.create, Rule 5), on the SQLite
store, and a process that dies right after that commit recovers the call as
one that died before its dialing was reported did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core import actors
from service.core.commands import ConferenceRef
from service.core.events import Event, EventType
from service.core.ports.carrier import CallReport
from service.core.statuses import CallStatus, LeaveReason, ParticipantStatus
from service.store.sqlite.store import SqliteStore
from tests.fakes.core import AC, TestCore, command, sink_to

CALLER = actors.Actor(actors.ActorKind.API_KEY, "SK" + "1" * 32, face="grpc")


class Process:
    """One Rollcall process: the core over the SQLite file, a simulated carrier."""

    def __init__(self, path: Path, clock: ManualClock, *, calls_per_second: float = 0) -> None:
        self.store = SqliteStore(str(path))
        holder: list[TestCore] = []
        self.carrier = SimulatedCarrier(
            clock, sink_to(holder), ring_seconds=5.0, calls_per_second=calls_per_second
        )
        self.core = TestCore(self.store, self.carrier, clock)
        holder.append(self.core)
        self.commits: list[list[Event]] = []
        self.core.subscribe(lambda events: self.commits.append(list(events)))

    async def open(self) -> Process:
        await self.store.open()
        return self

    async def die(self) -> None:
        """The process stops: its carrier's timers are gone with it."""
        await self.carrier.close()
        await self.store.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def process(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Process]:
    p = await Process(tmp_path / "rollcall.db", clock).open()
    yield p
    await p.die()


def steps(events: Sequence[Event]) -> list[tuple[int, str, actors.ActorKind | None]]:
    return [
        (
            e.revision,
            e.participant.status.value if e.participant else "",
            e.actor.kind if e.actor else None,
        )
        for e in events
    ]


async def test_a_creates_dialing_is_one_commit_at_the_next_revisions_and_the_carriers(
    process: Process, clock: ManualClock
) -> None:
    with actors.as_actor(CALLER):
        created, _ = await process.core.create(command())
    assert (created.status, created.call_status) == (ParticipantStatus.QUEUED, CallStatus.QUEUED)
    first = created.revision
    # One commit, announced once: the Create's event, then the carrier's steps.
    assert [steps(commit) for commit in process.commits] == [
        [
            (first, "queued", actors.ActorKind.API_KEY),
            (first + 1, "connecting", actors.ActorKind.CARRIER),
            (first + 2, "ringing", actors.ActorKind.CARRIER),
        ]
    ]
    stored = await process.store.events(created.conference_sid, 0, 10)
    assert steps(stored) == steps(process.commits[0])
    await clock.advance(0)
    assert len(process.commits) == 1  # the carrier reports none of them again
    ref = ConferenceRef(AC, created.conference_sid)
    now = await process.core.fetch(ref, created.call_sid, include_ended=False)
    assert (now.status, now.revision) == (ParticipantStatus.RINGING, first + 2)
    await clock.advance(5)  # answered: the carrier's next report, its own change
    assert steps(process.commits[-1])[0][1:] == ("connected", actors.ActorKind.CARRIER)


async def test_a_call_the_carrier_queues_reports_its_dialing_later(
    tmp_path: Path, clock: ManualClock
) -> None:
    process = await Process(tmp_path / "paced.db", clock, calls_per_second=1).open()
    try:
        await process.core.create(command())
        queued, _ = await process.core.create(command())  # paced: starts in a second
        only_queued = [(queued.revision, "queued", actors.ActorKind.ROLLCALL)]
        assert steps(process.commits[-1]) == only_queued
        await clock.advance(1)
        assert [s[1] for s in steps(process.commits[-1])] == ["connecting", "ringing"]
        assert steps(process.commits[-1])[0][0] == queued.revision + 1
    finally:
        await process.die()


async def test_a_crash_right_after_the_creates_commit_recovers_the_call(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "crash.db"
    before = await Process(path, clock).open()
    created, _ = await before.core.create(command())
    await before.die()  # right after the commit: no timer of the call ran

    after = await Process(path, clock).open()
    try:
        # As for any call dialing when its process died: the carrier's
        # timers did not survive, so it is failed, through the usual rules.
        assert await after.core.recover() == (1, 0)
        ref = ConferenceRef(AC, created.conference_sid)
        p = await after.core.fetch(ref, created.call_sid, include_ended=True)
        assert (p.status, p.call_status, p.leave_reason) == (
            ParticipantStatus.FAILED,
            CallStatus.FAILED,
            LeaveReason.PARTICIPANT_ADD_FAILED,
        )
        history = await after.store.events(created.conference_sid, 0, 20)
        revisions = [e.revision for e in history]
        assert revisions == list(range(created.revision, created.revision + len(history)))
        assert [s[1] for s in steps(history)[:4]] == ["queued", "connecting", "ringing", "failed"]
    finally:
        await after.die()


async def test_a_remote_carriers_report_of_a_step_recorded_at_placing_is_stale(
    process: Process, clock: ManualClock
) -> None:
    process.carrier.in_process = False  # the core keeps the carrier's numbers
    created, _ = await process.core.create(command())
    ref = ConferenceRef(AC, created.conference_sid)
    ringing = await process.core.fetch(ref, created.call_sid, include_ended=False)
    assert ringing.status is ParticipantStatus.RINGING
    again = CallReport(created.call_sid, CallStatus.RINGING, clock.now(), 1, account_sid=AC)
    await process.core.on_report(again, "retried-ringing")
    unchanged = await process.core.fetch(ref, created.call_sid, include_ended=False)
    assert unchanged.revision == ringing.revision
    answered = CallReport(created.call_sid, CallStatus.IN_PROGRESS, clock.now(), 2, account_sid=AC)
    await process.core.on_report(answered, "answered")
    joined = await process.core.fetch(ref, created.call_sid, include_ended=False)
    assert joined.status is ParticipantStatus.CONNECTED
    assert process.commits[-1][0].type is EventType.PARTICIPANT_JOINED
