"""The carrier port's contract: every adapter of service.core.ports.carrier runs this suite.

An adapter joins by adding a factory to CARRIER_FACTORIES: an async context
manager yielding a Rig, i.e. the adapter, the reports that reached the core's
side (in arrival order), a way to let its time pass (and its reports
arrive), and destinations it answers, reports busy, or refuses. Two run it:
the simulated carrier (service.carriers.simulated, on a ManualClock) and the
Twilio carrier against the fake carrier over real HTTP both ways.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.carriers.simulated.calls import parse_outcomes
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.core.ports.carrier import (
    AnnounceConference,
    CallReport,
    CallTarget,
    Carrier,
    ConferenceEvent,
    ConferenceReport,
    ConferenceTarget,
    EndConference,
    EndConferenceOnExit,
    Hold,
    Kick,
    Mute,
    OpenCall,
    PlaceCall,
    Placed,
    Report,
    Update,
)
from service.core.statuses import CallStatus
from tests.fakes.twilio_harness import ACCOUNT, twilio_rig

FROM = "+15005550006"


@dataclasses.dataclass
class Rig:
    carrier: Carrier
    reports: Callable[[], list[Report]]
    let_time_pass: Callable[[float], Awaitable[None]]
    answering_to: str
    busy_to: str
    # Refused by the carrier with Twilio code 21217 on To.
    invalid_to: str
    settle_seconds: float
    # The carrier's own record of a call's endConferenceOnExit, where the
    # carrier has a media plane to record it (None: the simulator has none).
    end_on_exit: Callable[[str], bool | None] = lambda call_sid: None
    # What place() answered each call did while it was placed (port Rule 6).
    at_dial: dict[str, CallReport] = dataclasses.field(default_factory=dict)

    async def place(self, call: PlaceCall) -> Placed:
        placed = await self.carrier.place(call)
        if placed.progress is not None:
            self.at_dial[placed.call_sid] = placed.progress
        return placed

    def heard(self, call_sid: str) -> list[CallReport]:
        """The call's reports that reached the sink."""
        return [r for r in self.reports() if isinstance(r, CallReport) and r.call_sid == call_sid]

    def calls(self, call_sid: str) -> list[CallReport]:
        """The call's reports: what place() answered, then the sink's."""
        dialed = self.at_dial.get(call_sid)
        return ([dialed] if dialed is not None else []) + self.heard(call_sid)

    def statuses(self, call_sid: str) -> list[CallStatus]:
        """Every status the call went through, in the carrier's order (a
        report's passed statuses before its own)."""
        ordered = sorted(self.calls(call_sid), key=lambda r: r.sequence_number or 0)
        return [status for r in ordered for status in (*r.passed, r.status)]


@contextlib.asynccontextmanager
async def twilio() -> AsyncIterator[Rig]:
    async with twilio_rig() as rig:
        rig.carrier.network.outcomes["+15551230002"] = "busy"
        yield Rig(
            carrier=rig.adapter,
            reports=lambda: [report for report, _ in rig.received.items],
            let_time_pass=rig.carrier.let_time_pass,
            answering_to="+15551230001",
            busy_to="+15551230002",
            invalid_to="+15005550001",
            settle_seconds=120.0,
            end_on_exit=lambda sid: rig.carrier.network.calls[sid].end_conference_on_exit,
        )


@contextlib.asynccontextmanager
async def simulated() -> AsyncIterator[Rig]:
    clock = ManualClock()
    reports: list[Report] = []

    async def sink(report: Report) -> None:
        reports.append(report)

    carrier = SimulatedCarrier(
        clock,
        sink,
        ring_seconds=1.0,
        outcomes=parse_outcomes("+15551230002=busy"),
        calls_per_second=1.0,
    )
    try:
        yield Rig(
            carrier=carrier,
            reports=lambda: reports,
            let_time_pass=clock.advance,
            answering_to="+15551230001",
            busy_to="+15551230002",
            invalid_to="+15005550001",
            settle_seconds=120.0,
        )
    finally:
        await carrier.close()


CARRIER_FACTORIES: dict[str, Callable[[], contextlib.AbstractAsyncContextManager[Rig]]] = {
    "simulated": simulated,
    "twilio": twilio,
}


@pytest.fixture(params=sorted(CARRIER_FACTORIES))
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with CARRIER_FACTORIES[request.param]() as made:
        yield made


_keys = itertools.count(1)
CONFERENCE = "CF" + "1" * 32


def a_call(to: str, *, time_limit: int = 10, conference: str = CONFERENCE) -> PlaceCall:
    return PlaceCall(
        account_sid=ACCOUNT,
        key=f"key{next(_keys)}",
        conference=conference,
        from_endpoint=FROM,
        to_endpoint=to,
        time_limit_seconds=time_limit,
        timeout_seconds=30,
    )


def target(placed: Placed) -> CallTarget:
    return CallTarget(ACCOUNT, placed.conference_sid, placed.call_sid)


def assert_well_formed(statuses: list[CallStatus]) -> None:
    assert statuses, "no progress reported"
    assert [s for s in statuses if s.terminal] == [statuses[-1]], statuses
    assert len(set(statuses)) == len(statuses), f"a status repeated: {statuses}"


async def test_place_returns_the_carriers_call_and_conference(rig: Rig) -> None:
    first = await rig.place(a_call(rig.answering_to))
    second = await rig.place(a_call(rig.answering_to))
    assert first.call_sid.startswith("CA") and len(first.call_sid) == 34
    assert first.call_sid != second.call_sid
    # One carrier conference per Rollcall conference.
    assert first.conference_sid == second.conference_sid
    assert first.conference_sid.startswith("CF")


async def test_an_answered_call_reports_in_order_up_to_completed(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.answering_to))
    await rig.let_time_pass(rig.settle_seconds)
    statuses = rig.statuses(placed.call_sid)
    assert_well_formed(statuses)
    assert CallStatus.IN_PROGRESS in statuses
    assert statuses[-1] is CallStatus.COMPLETED
    numbers = [r.sequence_number for r in rig.calls(placed.call_sid)]
    assert None not in numbers and len(set(numbers)) == len(numbers)


async def test_a_call_reports_dialing_first_and_in_time_order(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.answering_to))
    await rig.let_time_pass(rig.settle_seconds)
    statuses = rig.statuses(placed.call_sid)
    assert statuses[0] in (CallStatus.QUEUED, CallStatus.INITIATED), statuses
    ordered = sorted(rig.calls(placed.call_sid), key=lambda r: r.sequence_number or 0)
    times = [r.timestamp for r in ordered]
    assert times == sorted(times)


async def test_what_a_call_did_while_placed_is_dialing_numbered_first_and_never_heard_again(
    rig: Rig,
) -> None:
    calls = [await rig.place(a_call(rig.answering_to)) for _ in range(3)]
    calls.append(await rig.place(a_call(rig.busy_to)))
    await rig.let_time_pass(rig.settle_seconds)
    for placed in calls:
        dialed = placed.progress
        if dialed is None:
            continue  # an adapter that knows nothing more at dial time says none
        assert dialed.call_sid == placed.call_sid
        statuses = [*dialed.passed, dialed.status]
        assert all(status.dialing for status in statuses), statuses
        heard = rig.heard(placed.call_sid)
        assert dialed.sequence_number is not None
        assert all((r.sequence_number or 0) > dialed.sequence_number for r in heard)
        assert not {s for r in heard for s in (*r.passed, r.status)} & set(statuses)
        assert_well_formed(rig.statuses(placed.call_sid))


async def test_many_calls_each_reach_one_terminal_status(rig: Rig) -> None:
    calls = [await rig.place(a_call(rig.answering_to, time_limit=5)) for _ in range(3)]
    calls.append(await rig.place(a_call(rig.busy_to)))
    await rig.let_time_pass(rig.settle_seconds)
    for placed in calls:
        assert_well_formed(rig.statuses(placed.call_sid))


async def test_a_busy_call_ends_busy(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.busy_to))
    await rig.let_time_pass(rig.settle_seconds)
    statuses = rig.statuses(placed.call_sid)
    assert_well_formed(statuses)
    assert statuses[-1] is CallStatus.BUSY
    assert CallStatus.IN_PROGRESS not in statuses


async def test_check_lets_a_valid_destination_through(rig: Rig) -> None:
    rig.carrier.check(ACCOUNT, FROM, "+15005550006")
    rig.carrier.check(ACCOUNT, FROM, rig.answering_to)


async def test_a_refused_destination_is_a_typed_error_and_no_call(rig: Rig) -> None:
    with pytest.raises(RollcallError) as caught:
        await rig.place(a_call(rig.invalid_to))
    assert caught.value.twilio_code == 21217
    assert [v.field for v in caught.value.violations] == ["to_endpoint"]
    await rig.let_time_pass(rig.settle_seconds)
    assert not [r for r in rig.reports() if isinstance(r, CallReport)]


async def test_effects_on_a_live_call_are_carried_out(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.answering_to, time_limit=3600))
    await rig.let_time_pass(5)
    await rig.carrier.apply(Update(target(placed), (Mute(True),)))
    await rig.carrier.apply(Update(target(placed), (Mute(False),)))


async def test_after_a_kick_the_call_only_ends(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.answering_to, time_limit=3600))
    await rig.let_time_pass(5)
    before = len(rig.calls(placed.call_sid))
    await rig.carrier.apply(Kick(target(placed)))
    await rig.let_time_pass(rig.settle_seconds)
    after = rig.calls(placed.call_sid)[before:]
    assert [r.status.terminal for r in after] == [True], after
    assert after[0].status is CallStatus.COMPLETED
    # Kicking again is harmless (the call is already gone).
    await rig.carrier.apply(Kick(target(placed)))


async def test_kicking_a_call_the_carrier_never_placed_is_harmless(rig: Rig) -> None:
    placed = await rig.place(a_call(rig.answering_to, time_limit=3600))
    unknown = CallTarget(ACCOUNT, placed.conference_sid, "CA" + "0" * 32)
    await rig.carrier.apply(Kick(unknown))
    await rig.let_time_pass(5)
    assert not [
        r for r in rig.reports() if isinstance(r, CallReport) and r.call_sid == unknown.call_sid
    ]


async def test_ending_the_conference_ends_every_call(rig: Rig) -> None:
    one = await rig.place(a_call(rig.answering_to, time_limit=3600))
    two = await rig.place(a_call(rig.answering_to, time_limit=3600))
    await rig.let_time_pass(5)
    await rig.carrier.apply(EndConference(ConferenceTarget(ACCOUNT, one.conference_sid)))
    await rig.let_time_pass(rig.settle_seconds)
    for placed in (one, two):
        assert rig.statuses(placed.call_sid)[-1] is CallStatus.COMPLETED


async def test_a_conference_announcement_ends_no_call_and_is_reported_when_promised(
    rig: Rig,
) -> None:
    one = await rig.place(a_call(rig.answering_to, time_limit=3600))
    await rig.let_time_pass(5)
    before = len(rig.reports())
    conference = ConferenceTarget(ACCOUNT, one.conference_sid)
    await rig.carrier.apply(AnnounceConference(conference, "https://example.com/a.xml", "GET"))
    await rig.let_time_pass(rig.settle_seconds)
    after = rig.reports()[before:]
    assert not [r for r in after if isinstance(r, CallReport)], "no call ended"
    ended = [
        (r.event, r.call_sid, r.announce_url)
        for r in after
        if isinstance(r, ConferenceReport) and r.event is ConferenceEvent.ANNOUNCEMENT_END
    ]
    promised = rig.carrier.reports_announcements
    assert ended == ([(ConferenceEvent.ANNOUNCEMENT_END, None, "https://example.com/a.xml")]
                     if promised else [])  # fmt: skip


async def test_reconcile_reports_a_call_that_was_never_placed_as_failed(rig: Rig) -> None:
    never = OpenCall(ACCOUNT, "never-placed", CONFERENCE, None, None, rig.answering_to, 60)
    reports = await rig.carrier.reconcile([never])
    assert [(r.key, r.call_sid, r.status) for r in reports] == [
        ("never-placed", "", CallStatus.FAILED)
    ]


async def test_reconcile_keeps_an_answered_call_running_to_its_end(rig: Rig) -> None:
    call = a_call(rig.answering_to, time_limit=60)
    placed = await rig.place(call)
    await rig.let_time_pass(5)
    assert CallStatus.IN_PROGRESS in rig.statuses(placed.call_sid)
    open_call = OpenCall(
        ACCOUNT, call.key, CONFERENCE, placed.call_sid, placed.conference_sid,
        rig.answering_to, 60, answered_at=None,
    )  # fmt: skip
    answered = rig.calls(placed.call_sid)[-1]
    open_call = dataclasses.replace(
        open_call, answered_at=answered.timestamp, last_sequence_number=answered.sequence_number
    )
    reports = await rig.carrier.reconcile([open_call])
    assert not [r for r in reports if r.status.terminal]
    assert all(r.key == call.key for r in reports)
    await rig.let_time_pass(rig.settle_seconds)
    assert rig.statuses(placed.call_sid)[-1] is CallStatus.COMPLETED


# Changes to a held call that a carrier accepts and ignores unless sent with
# Hold (issue 25): each rule is (the change the core asks for on a held call,
# what the carrier must hold after). The adapter sends the combination that
# takes effect; the core tells it the call is held (Update.held).
HELD_RULES = [
    (EndConferenceOnExit(True), True),
    (EndConferenceOnExit(False), False),
]


@pytest.mark.parametrize(("change", "after"), HELD_RULES)
async def test_a_change_to_a_held_call_takes_effect(
    rig: Rig, change: EndConferenceOnExit, after: bool
) -> None:
    placed = await rig.place(a_call(rig.answering_to, time_limit=3600))
    await rig.let_time_pass(5)
    await rig.carrier.apply(Update(target(placed), (Hold(True),)))
    if not change.end:  # start from the other value, so the change is a change
        await rig.carrier.apply(Update(target(placed), (EndConferenceOnExit(True),), held=True))
    await rig.carrier.apply(Update(target(placed), (change,), held=True))
    assert rig.end_on_exit(placed.call_sid) in (after, None)
