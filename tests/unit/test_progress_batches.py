"""Steps due together reach the batch sink together; the rest arrive one by one.

The dialer hands `initiated` and `ringing` (both due when a call is placed) to
the batch sink in one call, in order; later steps still come alone at their
own time; a batch the sink fails to take is offered again whole. End to end,
every step is still its own revision and event.
"""

from __future__ import annotations

import logging

import pytest

from service.clock import ManualClock
from service.dialer.port import CallProgress, CallRequest
from service.dialer.simulated import SimulatedDialer

P = CallProgress
START = 1_700_000_000.0


def request(sid: str) -> CallRequest:
    return CallRequest(
        account_sid="AC" + "1" * 32,
        call_sid=sid,
        from_endpoint="+15005550006",
        to_endpoint="+15558675310",
        timeout_seconds=60,
        time_limit_seconds=30,
    )


class Sinks:
    def __init__(self) -> None:
        self.calls: list[list[tuple[CallProgress, float]]] = []
        self.fail = 0

    async def one(self, call_sid: str, progress: CallProgress, at: float) -> None:
        self.calls.append([(progress, at - START)])

    async def many(self, call_sid: str, steps: list[tuple[CallProgress, float]]) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("disk full")
        self.calls.append([(p, at - START) for p, at in steps])


async def test_steps_due_at_once_go_together_and_later_ones_alone() -> None:
    clock, sinks = ManualClock(START), Sinks()
    dialer = SimulatedDialer(
        clock, sinks.one, ring_seconds=2.0, calls_per_second=0, batch_sink=sinks.many
    )
    dialer.place(request("CA" + "a" * 32))
    await clock.advance(0)
    assert sinks.calls == [[(P.INITIATED, 0.0), (P.RINGING, 0.0)]]
    await clock.advance(40)
    assert sinks.calls[1:] == [[(P.ANSWERED, 2.0)], [(P.COMPLETED, 32.0)]]
    assert dialer.calls_in_flight() == 0


async def test_a_batch_the_sink_fails_to_take_is_offered_again_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL, logger="rollcall.dialer")
    clock, sinks = ManualClock(START), Sinks()
    sinks.fail = 1
    dialer = SimulatedDialer(
        clock, sinks.one, ring_seconds=2.0, calls_per_second=0, batch_sink=sinks.many
    )
    dialer.place(request("CA" + "b" * 32))
    await clock.advance(0)
    assert sinks.calls == [] and dialer.retrying() == 1
    await clock.advance(1)
    assert sinks.calls == [[(P.INITIATED, 0.0), (P.RINGING, 0.0)]]
    await clock.advance(1)
    assert sinks.calls[1:] == [[(P.ANSWERED, 2.0)]]
