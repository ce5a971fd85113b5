"""The simulated carrier's calls engine: call timelines, pacing, magic numbers and outcome specs."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from service.carriers.simulated.calls import (
    CallRequest,
    Outcome,
    OutcomeKind,
    SimulatedCalls,
    parse_outcomes,
)
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.core.statuses import CallStatus

START = 1_700_000_000.0
ACCOUNT = "AC" + "1" * 32
OTHER_ACCOUNT = "AC" + "2" * 32
FROM = "+15005550006"
TO = "+15558675310"

P = CallStatus
Step = tuple[str, CallStatus, float]


class RecordingSink:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        # What place() answered it took at once (Rule 5): never the sink's.
        self.placed: list[Step] = []

    async def __call__(self, call_sid: str, steps: Sequence[CallStatus], at: float) -> None:
        self.steps.extend((call_sid, progress, at) for progress in steps)

    def of(self, call_sid: str) -> list[tuple[CallStatus, float]]:
        """(progress, seconds after START) of one call: at placing, then the sink's."""
        return [(p, at - START) for sid, p, at in (*self.placed, *self.steps) if sid == call_sid]


class Calls(SimulatedCalls):
    """The engine, with what place() answers taken at once noted beside the sink's."""

    def __init__(self, clock: ManualClock, sink: RecordingSink, **kwargs: Any) -> None:
        super().__init__(clock, sink, **kwargs)
        self.recording = sink
        self.manual = clock

    def place(self, call: CallRequest) -> tuple[float, list[CallStatus]]:
        queued_ms, at_once = super().place(call)
        now = self.manual.now()
        self.recording.placed.extend((call.call_sid, status, now) for status in at_once)
        return queued_ms, at_once


_sids = itertools.count(1)


def call(
    to: str = TO,
    *,
    account: str = ACCOUNT,
    timeout: int = 60,
    time_limit: int = 14400,
) -> CallRequest:
    return CallRequest(
        account_sid=account,
        call_sid=f"CA{next(_sids):032x}",
        to_endpoint=to,
        timeout_seconds=timeout,
        time_limit_seconds=time_limit,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def make(
    clock: ManualClock,
    sink: RecordingSink,
    *,
    spec: str = "",
    ring_seconds: float = 2.0,
    calls_per_second: float = 0.0,
) -> Calls:
    return Calls(
        clock,
        sink,
        ring_seconds=ring_seconds,
        outcomes=parse_outcomes(spec),
        calls_per_second=calls_per_second,
    )


# -- outcomes ---------------------------------------------------------------


async def test_default_answers_after_ring_seconds_and_completes_at_time_limit(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink, ring_seconds=3)
    c = call(time_limit=30)
    assert calls.place(c)[0] == 0.0
    assert sink.steps == []  # nothing is reported synchronously

    await clock.advance(0)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.RINGING, 0)]
    await clock.advance(2.9)
    assert len(sink.of(c.call_sid)) == 2
    await clock.advance(0.1)
    assert sink.of(c.call_sid)[-1] == (P.IN_PROGRESS, 3)
    await clock.advance(30)
    assert sink.of(c.call_sid) == [
        (P.INITIATED, 0),
        (P.RINGING, 0),
        (P.IN_PROGRESS, 3),
        (P.COMPLETED, 33),
    ]
    assert calls.calls_in_flight() == 0
    assert clock.pending() == 0


async def test_answer_with_its_own_ring_time(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec=f"{TO}=answer:7")
    c = call(time_limit=10)
    calls.place(c)
    await clock.advance(100)
    assert sink.of(c.call_sid) == [
        (P.INITIATED, 0),
        (P.RINGING, 0),
        (P.IN_PROGRESS, 7),
        (P.COMPLETED, 17),
    ]


@pytest.mark.parametrize("ring", [10, 5])
async def test_ringing_as_long_as_the_timeout_is_no_answer(
    clock: ManualClock, sink: RecordingSink, ring: int
) -> None:
    calls = make(clock, sink, spec=f"{TO}=answer:{ring}")
    c = call(timeout=5)
    calls.place(c)
    await clock.advance(100)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.RINGING, 0), (P.NO_ANSWER, 5)]


async def test_default_ring_longer_than_timeout_is_no_answer(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink, ring_seconds=30)
    c = call(timeout=10)
    calls.place(c)
    await clock.advance(100)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.RINGING, 0), (P.NO_ANSWER, 10)]


async def test_busy(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec=f"{TO}=busy")
    c = call()
    calls.place(c)
    await clock.advance(0)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.BUSY, 0)]
    assert calls.calls_in_flight() == 0


async def test_failed(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec=f"{TO}=failed")
    c = call()
    calls.place(c)
    await clock.advance(0)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.FAILED, 0)]


async def test_no_answer_rings_until_the_timeout(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec=f"{TO}=no-answer")
    c = call(timeout=25)
    calls.place(c)
    await clock.advance(24)
    assert sink.of(c.call_sid) == [(P.INITIATED, 0), (P.RINGING, 0)]
    await clock.advance(1)
    assert sink.of(c.call_sid)[-1] == (P.NO_ANSWER, 25)
    assert calls.calls_in_flight() == 0


async def test_hangup_outcome_ends_the_call_after_talking(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink, spec=f"{TO}=hangup:12")
    c = call(time_limit=60)
    calls.place(c)
    await clock.advance(100)
    assert sink.of(c.call_sid) == [
        (P.INITIATED, 0),
        (P.RINGING, 0),
        (P.IN_PROGRESS, 2),
        (P.COMPLETED, 14),
    ]


async def test_time_limit_wins_over_a_longer_hangup(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink, spec=f"{TO}=hangup:120")
    c = call(time_limit=30)
    calls.place(c)
    await clock.advance(1000)
    assert sink.of(c.call_sid)[-1] == (P.COMPLETED, 32)


async def test_outcomes_are_per_destination(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec="+15551230001=busy")
    busy, answered = call("+15551230001"), call("+15551230002", time_limit=5)
    calls.place(busy)
    calls.place(answered)
    await clock.advance(100)
    assert [p for p, _ in sink.of(busy.call_sid)] == [P.INITIATED, P.BUSY]
    assert [p for p, _ in sink.of(answered.call_sid)][-1] is P.COMPLETED


# -- pacing -----------------------------------------------------------------


async def test_calls_are_paced_per_account(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, calls_per_second=1, spec=f"{TO}=busy")
    first, second, third = call(), call(), call()
    elsewhere = call(account=OTHER_ACCOUNT)
    assert calls.place(first)[0] == 0.0
    assert calls.place(second)[0] == pytest.approx(1000.0)
    assert calls.place(third)[0] == pytest.approx(2000.0)
    assert calls.place(elsewhere)[0] == 0.0

    await clock.advance(0)
    assert sink.of(first.call_sid)[0] == (P.INITIATED, 0)
    assert sink.of(elsewhere.call_sid)[0] == (P.INITIATED, 0)
    assert sink.of(second.call_sid) == []
    await clock.advance(2)
    assert sink.of(second.call_sid)[0] == (P.INITIATED, 1)
    assert sink.of(third.call_sid)[0] == (P.INITIATED, 2)


async def test_pacing_shifts_the_whole_timeline(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, calls_per_second=2, ring_seconds=1)
    calls.place(call(time_limit=1))
    c = call(time_limit=1)
    assert calls.place(c)[0] == pytest.approx(500.0)
    await clock.advance(10)
    assert sink.of(c.call_sid) == [
        (P.INITIATED, 0.5),
        (P.RINGING, 0.5),
        (P.IN_PROGRESS, 1.5),
        (P.COMPLETED, 2.5),
    ]


async def test_an_idle_account_starts_at_once(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, calls_per_second=1)
    calls.place(call())
    await clock.advance(5)
    assert calls.place(call())[0] == 0.0
    await clock.advance(0.25)
    assert calls.place(call())[0] == pytest.approx(750.0)


async def test_zero_calls_per_second_is_unlimited(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, calls_per_second=0)
    assert [calls.place(call())[0] for _ in range(50)] == [0.0] * 50


async def test_pacing_survives_forgetting_idle_accounts(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink, calls_per_second=1, spec=f"{TO}=busy")
    for n in range(3000):
        calls.place(call(account=f"AC{n:032x}"))
    await clock.advance(5)
    busy_account = "AC" + "b" * 32
    calls.place(call(account=busy_account))
    for n in range(3000):  # enough new accounts to sweep the idle ones away
        assert calls.place(call(account=f"AC{n + 5000:032x}"))[0] == 0.0
    assert calls.place(call(account=busy_account))[0] == 1000.0
    assert calls.place(call(account=f"AC{0:032x}"))[0] == 0.0


# -- check(): Twilio's magic numbers ---------------------------------------


@pytest.mark.parametrize(
    ("from_endpoint", "to_endpoint", "field", "code"),
    [
        (FROM, "+15005550001", "to_endpoint", 21217),
        (FROM, "+15005550002", "to_endpoint", 21214),
        (FROM, "+15005550003", "to_endpoint", 21215),
        (FROM, "+15005550004", "to_endpoint", 21216),
        ("+15005550001", TO, "from_endpoint", 21212),
    ],
)
def test_magic_numbers_are_rejected(
    clock: ManualClock,
    sink: RecordingSink,
    from_endpoint: str,
    to_endpoint: str,
    field: str,
    code: int,
) -> None:
    calls = make(clock, sink)
    with pytest.raises(RollcallError) as caught:
        calls.check(ACCOUNT, from_endpoint, to_endpoint)
    error = caught.value
    assert error.twilio_code == code
    assert error.http_status == 400
    assert [(v.field, v.twilio_code) for v in error.violations] == [(field, code)]


@pytest.mark.parametrize("to_endpoint", ["+15005550006", TO, "client:alice", "+15005550005"])
def test_other_numbers_pass(clock: ManualClock, sink: RecordingSink, to_endpoint: str) -> None:
    make(clock, sink).check(ACCOUNT, "+15005550006", to_endpoint)


def test_a_bad_from_and_to_are_both_named(clock: ManualClock, sink: RecordingSink) -> None:
    with pytest.raises(RollcallError) as caught:
        make(clock, sink).check(ACCOUNT, "+15005550001", "+15005550004")
    fields = [(v.field, v.twilio_code) for v in caught.value.violations]
    assert fields == [("to_endpoint", 21216), ("from_endpoint", 21212)]


# -- hangup, ordering, failures ----------------------------------------------


async def test_hangup_cancels_the_rest_of_the_timeline(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink)
    c = call()
    calls.place(c)
    await clock.advance(2)
    assert sink.of(c.call_sid)[-1] == (P.IN_PROGRESS, 2)
    await calls.hangup(c.call_sid)
    await clock.advance(100_000)
    assert sink.of(c.call_sid)[-1] == (P.IN_PROGRESS, 2)
    assert calls.calls_in_flight() == 0
    assert clock.pending() == 0


async def test_hangup_before_the_call_starts(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, calls_per_second=1)
    calls.place(call())
    queued = call()
    calls.place(queued)
    await calls.hangup(queued.call_sid)
    await clock.advance(100)
    assert sink.of(queued.call_sid) == []


async def test_hangup_of_an_unknown_call_is_a_no_op(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink)
    await calls.hangup("CA" + "f" * 32)
    assert calls.calls_in_flight() == 0


async def test_hangup_from_inside_the_sink_stops_the_next_step(clock: ManualClock) -> None:
    steps: list[CallStatus] = []
    calls: SimulatedCalls

    async def hang_up_on_answer(call_sid: str, progress: Sequence[CallStatus], at: float) -> None:
        steps.extend(progress)
        if P.IN_PROGRESS in progress:
            await calls.hangup(call_sid)

    calls = SimulatedCalls(clock, hang_up_on_answer, calls_per_second=0)
    calls.place(call())
    await clock.advance(100_000)
    assert steps == [P.IN_PROGRESS]


async def test_steps_wait_for_the_sink_to_return(clock: ManualClock) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    deliveries: list[list[CallStatus]] = []

    async def slow_sink(call_sid: str, steps: Sequence[CallStatus], at: float) -> None:
        deliveries.append(list(steps))
        if len(deliveries) == 1:
            entered.set()
            await release.wait()

    calls = SimulatedCalls(clock, slow_sink, calls_per_second=0, ring_seconds=1)
    calls.place(call(time_limit=5))
    advancing = asyncio.create_task(clock.advance(1))
    await entered.wait()
    assert deliveries == [[P.IN_PROGRESS]]
    release.set()
    await advancing
    await clock.advance(5)
    assert deliveries == [[P.IN_PROGRESS], [P.COMPLETED]]


async def test_steps_due_at_the_same_instant_are_one_delivery(clock: ManualClock) -> None:
    deliveries: list[tuple[list[CallStatus], float]] = []

    async def sink(call_sid: str, steps: Sequence[CallStatus], at: float) -> None:
        deliveries.append((list(steps), at - START))

    calls = SimulatedCalls(
        clock, sink, calls_per_second=0, ring_seconds=2, outcomes=parse_outcomes(f"{TO}=busy")
    )
    # Dialing and ringing at once are place()'s answer (Rule 5), not a delivery.
    assert calls.place(call("+15551110000", time_limit=5))[1] == [P.INITIATED, P.RINGING]
    assert calls.place(call(TO))[1] == []
    await clock.advance(100)
    assert sorted(deliveries, key=str) == sorted(
        [
            ([P.IN_PROGRESS], 2),
            ([P.COMPLETED], 7),
            ([P.INITIATED, P.BUSY], 0),  # a terminal step ends a delivery
        ],
        key=str,
    )


async def test_a_step_the_sink_fails_to_take_is_retried_and_holds_up_only_its_call(
    clock: ManualClock, sink: RecordingSink, caplog: pytest.LogCaptureFixture
) -> None:
    doomed = call("+15551110000", time_limit=5)
    down = True

    async def flaky_sink(call_sid: str, steps: Sequence[CallStatus], at: float) -> None:
        if down and call_sid == doomed.call_sid and P.IN_PROGRESS in steps:
            raise RuntimeError("store is down")
        await sink(call_sid, steps, at)

    calls = SimulatedCalls(clock, flaky_sink, calls_per_second=0)
    healthy = call(time_limit=5)
    calls.place(doomed)
    calls.place(healthy)
    with caplog.at_level(logging.WARNING, logger="rollcall.carrier.simulated"):
        await clock.advance(100)

    # Answering was not taken, so nothing after it was offered.
    assert sink.of(doomed.call_sid) == []
    assert sink.of(healthy.call_sid)[-1] == (P.COMPLETED, 7)
    assert any(doomed.call_sid in r.getMessage() for r in caplog.records)
    assert calls.calls_in_flight() == 1
    assert calls.retrying() == 1

    down = False
    await clock.advance(30)  # the longest backoff
    # The steps keep their own time, and the rest of the timeline follows in order.
    assert [p for p, _ in sink.of(doomed.call_sid)] == [P.IN_PROGRESS, P.COMPLETED]
    assert sink.of(doomed.call_sid)[0] == (P.IN_PROGRESS, 2)
    assert calls.calls_in_flight() == 0
    assert calls.retrying() == 0


async def test_placing_the_same_call_twice_is_refused(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink)
    c = call()
    calls.place(c)
    with pytest.raises(ValueError, match="already in progress"):
        calls.place(c)


# -- resume and close ---------------------------------------------------------


async def test_resume_completes_at_the_time_limit(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink)
    c = call(time_limit=30)
    calls.resume(c, answered_at=START - 10)
    await clock.advance(19)
    assert sink.of(c.call_sid) == []
    await clock.advance(1)
    assert sink.of(c.call_sid) == [(P.COMPLETED, 20)]
    assert calls.calls_in_flight() == 0


async def test_resume_honours_a_hangup_outcome(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink, spec=f"{TO}=hangup:15")
    c = call(time_limit=30)
    calls.resume(c, answered_at=START - 10)
    await clock.advance(100)
    assert sink.of(c.call_sid) == [(P.COMPLETED, 5)]


async def test_resume_of_an_overdue_call_completes_at_once(
    clock: ManualClock, sink: RecordingSink
) -> None:
    calls = make(clock, sink)
    c = call(time_limit=30)
    calls.resume(c, answered_at=START - 3600)
    await clock.advance(0)
    assert sink.of(c.call_sid) == [(P.COMPLETED, 0)]


async def test_a_resumed_call_can_be_hung_up(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink)
    c = call(time_limit=30)
    calls.resume(c, answered_at=START)
    await calls.hangup(c.call_sid)
    await clock.advance(100)
    assert sink.steps == []


async def test_close_cancels_everything(clock: ManualClock, sink: RecordingSink) -> None:
    calls = make(clock, sink)
    calls.place(call())
    calls.resume(call(), answered_at=START)
    await calls.close()
    await clock.advance(100_000)
    assert sink.steps == []
    assert clock.pending() == 0
    with pytest.raises(RuntimeError):
        calls.place(call())


@pytest.mark.parametrize(
    ("ring_seconds", "calls_per_second"),
    [(-1.0, 1.0), (2.0, -1.0), (float("nan"), 1.0), (2.0, float("inf"))],
)
def test_bad_settings_are_refused(
    clock: ManualClock, sink: RecordingSink, ring_seconds: float, calls_per_second: float
) -> None:
    with pytest.raises(ValueError, match="must be"):
        SimulatedCalls(clock, sink, ring_seconds=ring_seconds, calls_per_second=calls_per_second)


# -- parse_outcomes -------------------------------------------------------------


def test_parse_outcomes() -> None:
    spec = (
        " +15551230001=answer , +15551230002=answer:4.5,+15551230003=busy,"
        "+15551230004=no-answer,+15551230005=failed,+15551230006=hangup:30,,"
        "sip:bob@example.com;transport=tls=busy"
    )
    assert parse_outcomes(spec) == {
        "+15551230001": Outcome(OutcomeKind.ANSWER),
        "+15551230002": Outcome(OutcomeKind.ANSWER, ring_seconds=4.5),
        "+15551230003": Outcome(OutcomeKind.BUSY),
        "+15551230004": Outcome(OutcomeKind.NO_ANSWER),
        "+15551230005": Outcome(OutcomeKind.FAILED),
        "+15551230006": Outcome(OutcomeKind.HANGUP, talk_seconds=30),
        "sip:bob@example.com;transport=tls": Outcome(OutcomeKind.BUSY),
    }


@pytest.mark.parametrize("spec", ["", "  ", ",,"])
def test_parse_empty_outcomes(spec: str) -> None:
    assert parse_outcomes(spec) == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("+15551230001", "expected TO=OUTCOME"),
        ("=busy", "expected TO=OUTCOME"),
        ("+15551230001=", "expected TO=OUTCOME"),
        ("+15551230001=ring", "is not one of"),
        ("+15551230001=answer:soon", "not a number"),
        ("+15551230001=answer:-1", ">= 0"),
        ("+15551230001=answer:inf", ">= 0"),
        ("+15551230001=hangup", "hangup needs SECONDS"),
        ("+15551230001=busy:3", "takes no argument"),
        ("+15551230001=busy,+15551230001=failed", "more than once"),
    ],
)
def test_parse_bad_outcomes(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_outcomes(spec)
