"""service.core.clocks: intervals opened and closed by state, never negative."""

from __future__ import annotations

from service.core import clocks
from service.core.records import Participant
from service.core.statuses import CallStatus, ParticipantStatus


def participant() -> Participant:
    return Participant(
        "CA1", "AC1", "CF1", "room", None, ParticipantStatus.QUEUED, CallStatus.QUEUED,
        "+1", "+2", 100.0, 100.0, 0,
    )  # fmt: skip


def test_each_phase_runs_while_its_status_holds_and_status_since_follows() -> None:
    p = participant()
    clocks.tick(p, 100.0)
    assert (p.queue_since, p.status_since) == (100.0, 100.0)
    p.status = ParticipantStatus.CONNECTING
    clocks.tick(p, 103.0)
    p.status = ParticipantStatus.RINGING
    clocks.tick(p, 104.0)  # still ringing time: status_since moves, the ring clock runs on
    assert (p.queue_seconds, p.ring_since, p.status_since) == (3.0, 103.0, 104.0)
    p.status = ParticipantStatus.CONNECTED
    clocks.tick(p, 110.0)
    p.status = ParticipantStatus.COMPLETE
    clocks.tick(p, 130.0)
    assert (p.ring_seconds, p.talk_seconds, p.talk_since) == (7.0, 20.0, None)


def test_hold_and_mute_count_intervals_and_leaving_closes_them() -> None:
    p = participant()
    p.status = ParticipantStatus.CONNECTED
    p.hold = p.muted = True
    clocks.tick(p, 100.0)
    clocks.tick(p, 101.0)  # another change while held: not a second hold
    assert (p.hold_count, p.mute_count, p.hold_since) == (1, 1, 100.0)
    p.status = ParticipantStatus.COMPLETE  # left while held and muted (flags stay set)
    clocks.tick(p, 105.0)
    assert (p.hold_seconds, p.mute_seconds, p.hold_since, p.mute_since) == (5.0, 5.0, None, None)


def test_a_change_dated_before_its_interval_began_counts_nothing_negative() -> None:
    p = participant()
    p.status = ParticipantStatus.CONNECTED
    p.hold = True
    clocks.tick(p, 100.0)
    p.hold = False
    clocks.tick(p, 90.0)
    assert p.hold_seconds == 0.0
    assert clocks.live(2.0, 10.0, 5.0) == 2.0
    assert clocks.live(2.0, 10.0, 15.0) == 7.0
    assert clocks.live(2.0, None, 15.0) == 2.0
