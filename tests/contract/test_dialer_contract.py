"""The Dialer contract: every adapter (simulated today, twilio later) runs this suite.

An adapter joins by adding a factory to DIALER_FACTORIES: an async context
manager yielding a DialerHarness, i.e. the dialer wired to a RecordingSink, a
way to let time pass (a ManualClock for the simulated dialer, real waiting
bounded by a timeout for an upstream one) and the destinations it answers or
rejects.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from service.carriers.simulated.calls import SimulatedDialer, parse_outcomes
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.core.ports.dialer import CallProgress, CallRequest, Dialer

TERMINAL = frozenset(
    {
        CallProgress.COMPLETED,
        CallProgress.BUSY,
        CallProgress.NO_ANSWER,
        CallProgress.FAILED,
        CallProgress.CANCELED,
    }
)
ACCOUNT = "AC" + "c" * 32
FROM = "+15005550006"


class RecordingSink:
    def __init__(self) -> None:
        self.steps: list[tuple[str, CallProgress, float]] = []

    async def __call__(self, call_sid: str, steps: Sequence[CallProgress], at: float) -> None:
        self.steps.extend((call_sid, progress, at) for progress in steps)

    def of(self, call_sid: str) -> list[CallProgress]:
        return [progress for sid, progress, _ in self.steps if sid == call_sid]

    def times_of(self, call_sid: str) -> list[float]:
        return [at for sid, _, at in self.steps if sid == call_sid]


@dataclasses.dataclass
class DialerHarness:
    dialer: Dialer
    sink: RecordingSink
    # Let this many seconds of the adapter's time pass (and its progress arrive).
    let_time_pass: Callable[[float], Awaitable[None]]
    # A destination the adapter answers, and one it reports busy.
    answering_to: str
    busy_to: str
    # Seconds within which any call placed here reaches a terminal step.
    settle_seconds: float


DialerFactory = Callable[[], contextlib.AbstractAsyncContextManager[DialerHarness]]


@contextlib.asynccontextmanager
async def simulated() -> AsyncIterator[DialerHarness]:
    clock = ManualClock()
    sink = RecordingSink()
    dialer = SimulatedDialer(
        clock,
        sink,
        ring_seconds=1.0,
        outcomes=parse_outcomes("+15551230002=busy"),
        calls_per_second=1.0,
    )
    try:
        yield DialerHarness(
            dialer=dialer,
            sink=sink,
            let_time_pass=clock.advance,
            answering_to="+15551230001",
            busy_to="+15551230002",
            settle_seconds=120.0,
        )
    finally:
        await dialer.close()


DIALER_FACTORIES: dict[str, DialerFactory] = {"simulated": simulated}


@pytest.fixture(params=sorted(DIALER_FACTORIES))
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[DialerHarness]:
    factory = DIALER_FACTORIES[request.param]
    async with factory() as made:
        yield made


_sids = itertools.count(1)


def a_call(to: str, *, time_limit: int = 10, timeout: int = 30) -> CallRequest:
    return CallRequest(
        account_sid=ACCOUNT,
        call_sid=f"CA{next(_sids):032x}",
        from_endpoint=FROM,
        to_endpoint=to,
        timeout_seconds=timeout,
        time_limit_seconds=time_limit,
    )


def assert_well_formed(steps: list[CallProgress]) -> None:
    assert steps, "no progress reported"
    assert steps[0] is CallProgress.INITIATED
    assert [s for s in steps if s in TERMINAL] == [steps[-1]], steps
    assert len(set(steps)) == len(steps), f"a step repeated: {steps}"


async def test_an_answered_call_reports_initiated_first_and_one_terminal_step(
    harness: DialerHarness,
) -> None:
    call = a_call(harness.answering_to)
    queue_ms = harness.dialer.place(call)
    assert queue_ms >= 0.0
    await harness.let_time_pass(harness.settle_seconds)

    steps = harness.sink.of(call.call_sid)
    assert_well_formed(steps)
    assert CallProgress.ANSWERED in steps
    assert steps[-1] is CallProgress.COMPLETED
    times = harness.sink.times_of(call.call_sid)
    assert times == sorted(times)


async def test_a_busy_call_ends_busy(harness: DialerHarness) -> None:
    call = a_call(harness.busy_to)
    harness.dialer.place(call)
    await harness.let_time_pass(harness.settle_seconds)
    steps = harness.sink.of(call.call_sid)
    assert_well_formed(steps)
    assert steps[-1] is CallProgress.BUSY
    assert CallProgress.ANSWERED not in steps


async def test_many_calls_each_reach_one_terminal_step(harness: DialerHarness) -> None:
    calls = [a_call(harness.answering_to, time_limit=5) for _ in range(3)]
    calls.append(a_call(harness.busy_to))
    for call in calls:
        harness.dialer.place(call)
    await harness.let_time_pass(harness.settle_seconds)
    for call in calls:
        assert_well_formed(harness.sink.of(call.call_sid))


async def test_no_progress_after_hangup(harness: DialerHarness) -> None:
    call = a_call(harness.answering_to, time_limit=3600)
    harness.dialer.place(call)
    await harness.let_time_pass(0)
    await harness.dialer.hangup(call.call_sid)
    reported = list(harness.sink.of(call.call_sid))
    await harness.let_time_pass(harness.settle_seconds)
    assert harness.sink.of(call.call_sid) == reported


async def test_hangup_of_an_unknown_call_is_harmless(harness: DialerHarness) -> None:
    await harness.dialer.hangup("CA" + "0" * 32)


async def test_check_rejects_the_invalid_magic_to_number(harness: DialerHarness) -> None:
    with pytest.raises(RollcallError) as caught:
        harness.dialer.check(ACCOUNT, FROM, "+15005550001")
    assert caught.value.twilio_code == 21217
    assert [v.field for v in caught.value.violations] == ["to_endpoint"]


async def test_check_rejects_the_invalid_magic_from_number(harness: DialerHarness) -> None:
    with pytest.raises(RollcallError) as caught:
        harness.dialer.check(ACCOUNT, "+15005550001", harness.answering_to)
    assert caught.value.twilio_code == 21212
    assert [v.field for v in caught.value.violations] == ["from_endpoint"]


async def test_check_accepts_the_valid_magic_number(harness: DialerHarness) -> None:
    harness.dialer.check(ACCOUNT, FROM, "+15005550006")
    harness.dialer.check(ACCOUNT, FROM, harness.answering_to)


async def test_resume_completes_an_answered_call(harness: DialerHarness) -> None:
    call = a_call(harness.answering_to, time_limit=5)
    harness.dialer.resume(call, answered_at=0.0)  # long overdue
    await harness.let_time_pass(harness.settle_seconds)
    assert harness.sink.of(call.call_sid) == [CallProgress.COMPLETED]


async def test_close_stops_all_progress(harness: DialerHarness) -> None:
    call = a_call(harness.answering_to, time_limit=3600)
    harness.dialer.place(call)
    await harness.dialer.close()
    reported = list(harness.sink.of(call.call_sid))
    await harness.let_time_pass(harness.settle_seconds)
    assert harness.sink.of(call.call_sid) == reported
