"""The simulated carrier's calls: Twilio-like call progress with no telephone network.

Rule 1: it owns the timeline of every call the simulated carrier places
        (per-account pacing, ringing, answer, busy, no-answer, failure,
        hang-up and time limit), Twilio's magic test numbers for Calls, and
        the ROLLCALL_SIM_OUTCOMES format. It is a part of SimulatedCarrier
        (service.carriers.simulated.adapter), not a port of its own.
Rule 2: time comes only from the injected Clock; it never sleeps and never
        reads the wall clock.
Rule 3: one call's statuses reach the sink strictly one after another: the
        next is scheduled only once the sink has returned from the previous
        one. Statuses due at the same instant (initiated and ringing) reach
        it together, in order, as one delivery.
Rule 4: a delivery the sink fails to take (e.g. the disk is full) is offered
        again with exponential backoff on the clock, never dropped, and the
        call's later statuses wait behind it.
Rule 5: a call that is hung up or reaches a terminal status is forgotten at
        once, so memory follows the calls in flight.
Rule 6: the statuses a call takes the moment it is placed (initiated and
        ringing, when it is not queued and neither ends nor answers at once)
        are place()'s answer, not the sink's: they never reach the sink.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

from service.clock import Clock, Timer
from service.core import errors
from service.core.statuses import CallStatus

logger = logging.getLogger("rollcall.carrier.simulated")

# Called with (call_sid, statuses, at): the statuses (at least one, in order)
# the call took at `at`, clock time in seconds.
StatusSink = Callable[[str, Sequence[CallStatus], float], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class CallRequest:
    """A call to simulate, by the simulated carrier's own CallSid."""

    account_sid: str
    call_sid: str
    to_endpoint: str
    # Seconds to ring before giving up with no-answer (Twilio: 5-600, default 60).
    timeout_seconds: int = 60
    # Maximum call duration in seconds once answered (Twilio default: 4 hours).
    time_limit_seconds: int = 14400


class OutcomeKind(enum.Enum):
    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    HANGUP = "hangup"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a destination does when called.

    ring_seconds: for ANSWER, how long it rings (None: the carrier's default).
    talk_seconds: for HANGUP, how long after answering the callee hangs up.
    """

    kind: OutcomeKind
    ring_seconds: float | None = None
    talk_seconds: float | None = None


ANSWER = Outcome(OutcomeKind.ANSWER)

# Twilio's magic numbers for POST /Calls with test credentials: (field, number) ->
# (Twilio error code, Twilio's message).
_MAGIC_REJECTIONS: dict[tuple[str, str], tuple[int, str]] = {
    ("to_endpoint", "+15005550001"): (21217, "This phone number is invalid."),
    ("to_endpoint", "+15005550002"): (21214, "Twilio cannot route to this number."),
    ("to_endpoint", "+15005550003"): (
        21215,
        "Your account doesn't have the international permissions necessary to call this number.",
    ),
    ("to_endpoint", "+15005550004"): (21216, "This number is blocked for your account."),
    ("from_endpoint", "+15005550001"): (21212, "This phone number is invalid as a caller ID."),
}

# Pacing entries are swept once the table outgrows this (amortised, see _pace).
_MIN_PACING_SWEEP = 1024
# A step the sink failed to take is offered again after 1 s, doubling up to 30 s.
_RETRY_FIRST_SECONDS = 1.0
_RETRY_MAX_SECONDS = 30.0


def _seconds(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"bad outcome {item!r}: {text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"bad outcome {item!r}: seconds must be a finite number >= 0")
    return value


def _parse_outcome(text: str, item: str) -> Outcome:
    name, sep, arg = text.partition(":")
    kinds = {kind.value: kind for kind in OutcomeKind}
    if name not in kinds:
        raise ValueError(
            f"bad outcome {item!r}: {name!r} is not one of answer, answer:RING_SECONDS,"
            " busy, no-answer, failed, hangup:SECONDS"
        )
    kind = kinds[name]
    if kind is OutcomeKind.ANSWER:
        return Outcome(kind, ring_seconds=_seconds(arg, item)) if sep else Outcome(kind)
    if kind is OutcomeKind.HANGUP:
        if not sep:
            raise ValueError(f"bad outcome {item!r}: hangup needs SECONDS, e.g. hangup:30")
        return Outcome(kind, talk_seconds=_seconds(arg, item))
    if sep:
        raise ValueError(f"bad outcome {item!r}: {name} takes no argument")
    return Outcome(kind)


def parse_outcomes(spec: str) -> dict[str, Outcome]:
    """'+15551230001=busy,+15551230002=answer:5' -> {to_endpoint: Outcome}.

    Raises ValueError naming the bad entry. Empty entries are ignored.
    """
    outcomes: dict[str, Outcome] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        # The last '=' splits: SIP URIs may contain '=' in their parameters.
        to, sep, outcome = item.rpartition("=")
        to, outcome = to.strip(), outcome.strip()
        if not sep or not to or not outcome:
            raise ValueError(f"bad outcome entry {item!r}: expected TO=OUTCOME")
        if to in outcomes:
            raise ValueError(f"bad outcome entry {item!r}: {to} is given more than once")
        outcomes[to] = _parse_outcome(outcome, item)
    return outcomes


@dataclasses.dataclass
class _Call:
    sid: str
    # (due clock time, status), in order; the last one is terminal.
    steps: deque[tuple[float, CallStatus]]
    timer: Timer | None = None
    # Consecutive failed attempts to hand the first step to the sink.
    failures: int = 0


class SimulatedCalls:
    """The simulated carrier's calls: they progress on the clock, by destination."""

    def __init__(
        self,
        clock: Clock,
        sink: StatusSink,
        *,
        ring_seconds: float = 2.0,
        outcomes: Mapping[str, Outcome] | None = None,
        calls_per_second: float = 1.0,
    ) -> None:
        if not math.isfinite(ring_seconds) or ring_seconds < 0:
            raise ValueError("ring_seconds must be a finite number >= 0")
        if not math.isfinite(calls_per_second) or calls_per_second < 0:
            raise ValueError("calls_per_second must be a finite number >= 0 (0 = unlimited)")
        self._clock = clock
        self._sink = sink
        self._ring_seconds = ring_seconds
        self._outcomes = dict(outcomes or {})
        self._spacing = 1.0 / calls_per_second if calls_per_second else 0.0
        self._calls: dict[str, _Call] = {}
        # account_sid -> the earliest clock time its next call may start.
        self._next_slot: dict[str, float] = {}
        self._sweep_above = _MIN_PACING_SWEEP
        self._closed = False

    # -- what the simulated carrier asks of its calls -----------------------

    def check(self, account_sid: str, from_endpoint: str, to_endpoint: str) -> None:
        rejections: list[errors.FieldViolation] = []
        for field, value in (("to_endpoint", to_endpoint), ("from_endpoint", from_endpoint)):
            magic = _MAGIC_REJECTIONS.get((field, value))
            if magic is not None:
                code, message = magic
                rejections.append(errors.FieldViolation(field, message, code))
        if len(rejections) == 1:
            only = rejections[0]
            raise errors.dial_rejected(only.field, only.twilio_code, only.description)
        if rejections:
            raise errors.invalid(rejections)

    def place(self, call: CallRequest) -> tuple[float, list[CallStatus]]:
        """Start the call: the milliseconds it is queued for, and the statuses
        it took at once (Rule 6), which the sink will not hear."""
        if self._closed:
            raise RuntimeError("the simulated carrier is closed")
        if call.call_sid in self._calls:
            raise ValueError(f"call {call.call_sid} is already in progress")
        now = self._clock.now()
        slot = self._pace(call.account_sid, now)
        steps = self._timeline(call, slot)
        at_once = [status for due, status in steps if due == now]
        if not all(status.dialing for status in at_once):
            at_once = []  # ends or answers at once: delivered as one report, as before
        self._start(call.call_sid, steps[len(at_once) :], now)
        return (slot - now) * 1000.0, at_once

    async def hangup(self, call_sid: str) -> None:
        call = self._calls.pop(call_sid, None)
        if call is not None and call.timer is not None:
            call.timer.cancel()

    def resume(self, call: CallRequest, answered_at: float) -> None:
        if self._closed:
            raise RuntimeError("the simulated carrier is closed")
        now = self._clock.now()
        previous = self._calls.pop(call.call_sid, None)
        if previous is not None and previous.timer is not None:
            previous.timer.cancel()
        # A call whose end passed while we were down ends now, not in the past.
        ends = max(now, answered_at + self._talk_seconds(call))
        self._start(call.call_sid, [(ends, CallStatus.COMPLETED)], now)

    async def close(self) -> None:
        self._closed = True
        calls, self._calls = self._calls, {}
        for call in calls.values():
            if call.timer is not None:
                call.timer.cancel()
        self._next_slot.clear()

    # -- introspection (tests, metrics) -------------------------------------

    def calls_in_flight(self) -> int:
        return len(self._calls)

    # -- internals -----------------------------------------------------------

    def _pace(self, account_sid: str, now: float) -> float:
        """The start slot of an account's next call: at most calls_per_second per second."""
        if not self._spacing:
            return now
        slot = max(now, self._next_slot.get(account_sid, now))
        self._next_slot[account_sid] = slot + self._spacing
        if len(self._next_slot) > self._sweep_above:
            # Accounts whose next slot has passed would get `now` anyway: forget them.
            self._next_slot = {a: t for a, t in self._next_slot.items() if t > now}
            self._sweep_above = max(_MIN_PACING_SWEEP, 2 * len(self._next_slot))
        return slot

    def _outcome(self, to_endpoint: str) -> Outcome:
        return self._outcomes.get(to_endpoint, ANSWER)

    def _talk_seconds(self, call: CallRequest) -> float:
        outcome = self._outcome(call.to_endpoint)
        limit = float(call.time_limit_seconds)
        if outcome.kind is OutcomeKind.HANGUP and outcome.talk_seconds is not None:
            return min(limit, outcome.talk_seconds)
        return limit

    def _timeline(self, call: CallRequest, slot: float) -> list[tuple[float, CallStatus]]:
        outcome = self._outcome(call.to_endpoint)
        steps = [(slot, CallStatus.INITIATED)]
        if outcome.kind is OutcomeKind.BUSY:
            return [*steps, (slot, CallStatus.BUSY)]
        if outcome.kind is OutcomeKind.FAILED:
            return [*steps, (slot, CallStatus.FAILED)]
        steps.append((slot, CallStatus.RINGING))
        timeout = float(call.timeout_seconds)
        ring = outcome.ring_seconds
        if ring is None:
            ring = self._ring_seconds
        if outcome.kind is OutcomeKind.NO_ANSWER or ring >= timeout:
            return [*steps, (slot + timeout, CallStatus.NO_ANSWER)]
        answered = slot + ring
        return [
            *steps,
            (answered, CallStatus.IN_PROGRESS),
            (answered + self._talk_seconds(call), CallStatus.COMPLETED),
        ]

    def _start(self, sid: str, steps: list[tuple[float, CallStatus]], now: float) -> None:
        call = _Call(sid, deque(steps))
        self._calls[sid] = call
        self._arm(call, now)

    def _arm(self, call: _Call, now: float) -> None:
        due = call.steps[0][0]

        async def fire() -> None:
            await self._run(call)

        call.timer = self._clock.call_later(max(0.0, due - now), fire)

    def _live(self, call: _Call) -> bool:
        return self._calls.get(call.sid) is call

    async def _run(self, call: _Call) -> None:
        """Deliver the steps whose timer fired, then every later step already due."""
        call.timer = None
        first = True
        while self._live(call) and call.steps:
            due = call.steps[0][0]
            # The step whose timer fired runs even if float rounding puts `now`
            # a hair before `due`; later steps wait for their own time.
            if not first and due > self._clock.now():
                self._arm(call, self._clock.now())
                return
            first = False
            steps = self._due_at_once(call)
            try:
                await self._sink(call.sid, [status for _, status in steps], due)
            except Exception:
                call.failures += 1
                delay = min(_RETRY_MAX_SECONDS, _RETRY_FIRST_SECONDS * 2 ** (call.failures - 1))
                logger.warning(
                    "status sink failed for call %s at %s (attempt %d); retrying in %s s",
                    call.sid,
                    steps[-1][1].value,
                    call.failures,
                    delay,
                    exc_info=True,
                )
                if self._live(call) and not self._closed:
                    call.steps.extendleft(reversed(steps))
                    self._retry(call, delay)
                return
            except BaseException:
                self._forget(call)
                raise
            call.failures = 0
            if steps[-1][1].terminal:
                break
        self._forget(call)

    @staticmethod
    def _due_at_once(call: _Call) -> list[tuple[float, CallStatus]]:
        """The first step and those due at the same instant after it (up to a terminal one)."""
        steps = [call.steps.popleft()]
        while call.steps and call.steps[0][0] == steps[0][0] and not steps[-1][1].terminal:
            steps.append(call.steps.popleft())
        return steps

    def _retry(self, call: _Call, delay: float) -> None:
        async def fire() -> None:
            await self._run(call)

        call.timer = self._clock.call_later(delay, fire)

    def retrying(self) -> int:
        """Calls whose next step waits to be offered to the sink again (tests)."""
        return sum(1 for call in self._calls.values() if call.failures)

    def _forget(self, call: _Call) -> None:
        if self._live(call):
            del self._calls[call.sid]
            if call.timer is not None:
                call.timer.cancel()
