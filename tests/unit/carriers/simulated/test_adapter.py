"""The simulated carrier: what the carrier contract suite cannot see (magic numbers at
check(), queue times, report numbering, close)."""

from __future__ import annotations

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.core.ports.carrier import (
    CallReport,
    CallTarget,
    Kick,
    OpenCall,
    PlaceCall,
    Report,
)
from service.core.statuses import CallStatus

ACCOUNT = "AC" + "c" * 32
CONFERENCE = "CF" + "5" * 32


def a_call(key: str, to: str = "+15551230001") -> PlaceCall:
    return PlaceCall(ACCOUNT, key, CONFERENCE, "+15005550006", to, 30, 60)


def rig() -> tuple[ManualClock, list[Report], SimulatedCarrier]:
    clock = ManualClock()
    reports: list[Report] = []

    async def sink(report: Report) -> None:
        reports.append(report)

    return clock, reports, SimulatedCarrier(clock, sink, ring_seconds=1.0, calls_per_second=1.0)


async def test_queue_time_paces_an_accounts_calls_like_the_simulator() -> None:
    _, _, carrier = rig()
    first = await carrier.place(a_call("a"))
    second = await carrier.place(a_call("b"))
    assert (first.queue_time_ms, second.queue_time_ms) == (0.0, 1000.0)
    assert first.conference_sid == CONFERENCE
    await carrier.close()


async def test_a_refused_call_is_not_placed() -> None:
    _, reports, carrier = rig()
    with pytest.raises(RollcallError) as caught:
        await carrier.place(a_call("bad", to="+15005550002"))
    assert caught.value.twilio_code == 21214
    assert carrier.calls_in_flight() == 0 and reports == []
    await carrier.close()


async def test_a_kick_is_reported_from_the_clock_after_apply_returns() -> None:
    clock, reports, carrier = rig()
    placed = await carrier.place(a_call("k"))
    # Dialing and ringing at the instant it is placed: one report, numbered
    # as two, answered with Placed, and never the sink's.
    ringing = placed.progress
    assert ringing is not None
    assert (ringing.call_sid, ringing.passed, ringing.status, ringing.sequence_number) == (
        placed.call_sid,
        (CallStatus.INITIATED,),
        CallStatus.RINGING,
        1,
    )
    await clock.advance(0)
    assert reports == []
    await carrier.apply(Kick(CallTarget(ACCOUNT, placed.conference_sid, placed.call_sid)))
    assert reports == []
    await clock.advance(0)
    (last,) = reports
    assert isinstance(last, CallReport)
    assert (last.status, last.sequence_number) == (CallStatus.CANCELED, 2)
    await clock.advance(600)
    assert len(reports) == 1
    await carrier.close()


async def test_a_queued_call_reports_its_dialing_to_the_sink_when_it_starts() -> None:
    clock, reports, carrier = rig()
    first = await carrier.place(a_call("now"))
    queued = await carrier.place(a_call("later"))  # paced: one call a second
    assert first.progress is not None and queued.progress is None
    await clock.advance(1)
    dialing = [r for r in reports if isinstance(r, CallReport) and r.call_sid == queued.call_sid]
    assert [(r.passed, r.status, r.sequence_number) for r in dialing] == [
        ((CallStatus.INITIATED,), CallStatus.RINGING, 1)
    ]
    await carrier.close()


async def test_reconcile_fails_unanswered_calls_and_continues_the_sequence_of_answered_ones() -> (
    None
):
    clock, reports, carrier = rig()
    unanswered = OpenCall(ACCOUNT, "u", CONFERENCE, "CA" + "1" * 32, CONFERENCE, "+1555", 60)
    answered = OpenCall(
        ACCOUNT, "a", CONFERENCE, "CA" + "2" * 32, CONFERENCE, "+1555", 60,
        answered_at=clock.now() - 10, last_sequence_number=2,
    )  # fmt: skip
    found = await carrier.reconcile([unanswered, answered])
    assert [(r.key, r.call_sid, r.status) for r in found] == [
        ("u", "CA" + "1" * 32, CallStatus.FAILED)
    ]
    await clock.advance(50)
    assert [(r.status, r.sequence_number) for r in reports if isinstance(r, CallReport)] == [
        (CallStatus.COMPLETED, 3)
    ]
    await carrier.close()


@pytest.mark.parametrize(
    ("from_endpoint", "to_endpoint", "field", "code"),
    [("+15005550006", "+15005550001", "to_endpoint", 21217),
     ("+15005550001", "+15551230001", "from_endpoint", 21212)],
)  # fmt: skip
def test_check_refuses_twilios_magic_numbers(
    from_endpoint: str, to_endpoint: str, field: str, code: int
) -> None:
    _, _, carrier = rig()
    with pytest.raises(RollcallError) as caught:
        carrier.check(ACCOUNT, from_endpoint, to_endpoint)
    assert caught.value.twilio_code == code
    assert [v.field for v in caught.value.violations] == [field]
    carrier.check(ACCOUNT, "+15005550006", "+15005550006")  # the valid magic number


async def test_close_stops_every_report() -> None:
    clock, reports, carrier = rig()
    await carrier.place(a_call("c"))
    await carrier.close()
    await clock.advance(600)
    assert reports == [] and carrier.calls_in_flight() == 0
