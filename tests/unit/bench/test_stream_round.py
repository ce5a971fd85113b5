"""bench.stream_round: a watcher round's counts (what the watch and floor
figures' lost events and latencies are made of)."""

from __future__ import annotations

from bench.stream_round import Round


async def test_events_count_once_per_new_revision_after_the_snapshot() -> None:
    r = Round(2)
    a, b = r.streams
    r.snapshot(a, 10)
    r.started(a)
    r.started(a)  # counted once
    assert not r.ready.is_set()
    r.started(b)  # ended before its snapshot: ready, never waited for
    assert r.ready.is_set()
    assert not r.event(a, 10, 0, 1.0)  # the snapshot's own revision: not news
    assert not r.event(a, 11, 500_000_000, 1.0)
    assert not r.event(a, 11, 500_000_000, 1.0)  # a repeat is timed, not counted
    assert r.latencies == [0.5, 0.5]
    r.final(13)
    assert not r.event(a, 12, 0, 0.0)
    assert r.event(a, 13, 0, 0.0)  # the final revision: done
    assert r.counts() == {"streams": 2, "expected": 3, "received": 3, "lost": 0}


async def test_what_never_arrived_is_lost() -> None:
    r = Round(1)
    (a,) = r.streams
    r.snapshot(a, 5)
    r.event(a, 6, 0, 0.0)
    r.event(a, 8, 0, 0.0)  # 7 never came
    r.final(9)
    assert r.counts() == {"streams": 1, "expected": 4, "received": 2, "lost": 2}
