"""The simulated carrier: an adapter of the carrier port with no telephone network.

Rule 1: it mints the "carrier's" CallSid, numbers each call's reports from 0
        like Twilio's SequenceNumber, treats media effects as done at once
        (there is no media), and ends calls on Kick and EndConference. Each
        call's timeline (pacing, magic numbers, outcomes) is its calls
        engine's (service.carriers.simulated.calls); who hears whom, as its
        effects set it, is its mixer's (service.carriers.simulated.mixer).
Rule 2: a refused destination raises before anything is placed.
Rule 3: reports reach the sink one at a time per call, in order.
Rule 4: a call ended by Kick or EndConference gets exactly one terminal report
        (completed when it was answered, canceled before), delivered from the
        clock afterwards, never inside apply(), as a carrier's callback would be.
Rule 5: its reports are never lost (in process), so no call it has ended is
        shown live and it never answers errors.call_gone().
Rule 6: reconcile() keeps answered calls running (their time limit re-armed)
        and reports every other open call failed, since its timers did not
        survive the restart.
Rule 7: a call's dialing statuses taken the moment it is placed come back
        with Placed (the port's Rule 6), numbered first; its later reports
        follow.
Rule 8: speech is scripted (speak()): speech-start and -stop reports of a
        live call on the clock, numbered in one sequence of the carrier's
        conference events; none for a call that has ended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence

from service.carriers.simulated.calls import CallRequest, Outcome, SimulatedCalls
from service.carriers.simulated.mixer import Mixer
from service.clock import Clock
from service.core import errors
from service.core.ports.carrier import (
    AnnounceConference,
    CallReport,
    ConferenceEvent,
    ConferenceReport,
    Effect,
    EndConference,
    Kick,
    MoveCall,
    OpenCall,
    PlaceCall,
    Placed,
    ReportSink,
    Update,
)
from service.core.records import new_sid
from service.core.statuses import CallStatus


@dataclasses.dataclass
class _Call:
    account_sid: str
    conference_sid: str
    next_sequence: int = 0
    answered: bool = False


class SimulatedCarrier:
    in_process = True  # see the port
    reports_announcements = False  # the announcement "plays" at once
    ends_conference_calls = False  # the core hangs the others up (Kick)
    whisper_limit: int | None = None  # its mixer whispers to any number

    def __init__(
        self,
        clock: Clock,
        sink: ReportSink,
        *,
        ring_seconds: float = 2.0,
        outcomes: Mapping[str, Outcome] | None = None,
        calls_per_second: float = 1.0,
    ) -> None:
        self._clock = clock
        self._sink = sink
        self._calls: dict[str, _Call] = {}
        self._speech_sequence = 0
        self.mixer = Mixer()
        self._timelines = SimulatedCalls(
            clock,
            self._progress,
            ring_seconds=ring_seconds,
            outcomes=outcomes,
            calls_per_second=calls_per_second,
        )

    # -- the carrier port ----------------------------------------------------

    def check(self, account_sid: str, from_endpoint: str, to_endpoint: str) -> None:
        self._timelines.check(account_sid, from_endpoint, to_endpoint)

    async def place(self, call: PlaceCall) -> Placed:
        self._timelines.check(call.account_sid, call.from_endpoint, call.to_endpoint)
        call_sid = new_sid("CA")
        # The simulated "carrier" conference is the Rollcall conference itself.
        self._calls[call_sid] = _Call(call.account_sid, call.conference)
        self.mixer.placed(call_sid, call)
        queued_ms, at_once = self._timelines.place(_request(call.account_sid, call_sid, call))
        progress = None
        if at_once:
            progress = self._numbered(call_sid, self._calls[call_sid], at_once, self._clock.now())
        return Placed(call_sid, call.conference, queued_ms, progress)

    async def apply(self, effect: Effect) -> None:
        match effect:
            case Update(target=target, changes=changes):
                for change in changes:
                    self.mixer.change(target.call_sid, change)
            case AnnounceConference():
                return  # no media plane: the announcement has played
            case MoveCall(target=target, conference=conference):
                call = self._calls.get(target.call_sid)
                if call is None:  # it ended here: its terminal report follows
                    raise errors.participant_not_active(target.call_sid)
                call.conference_sid = conference
                self.mixer.moved(effect)
            case Kick(target=target):
                await self._end(target.call_sid)
            case EndConference(conference=conference):
                for sid, call in list(self._calls.items()):
                    if call.conference_sid == conference.conference_sid:
                        await self._end(sid)

    async def reconcile(self, open_calls: Sequence[OpenCall]) -> list[CallReport]:
        reports: list[CallReport] = []
        now = self._clock.now()
        for open_call in open_calls:
            sid = open_call.call_sid
            if sid is not None and open_call.answered_at is not None:
                conference = open_call.conference_sid or open_call.conference
                after = open_call.last_sequence_number
                self._calls[sid] = _Call(
                    open_call.account_sid,
                    conference,
                    next_sequence=0 if after is None else after + 1,
                    answered=True,
                )
                request = CallRequest(
                    account_sid=open_call.account_sid,
                    call_sid=sid,
                    to_endpoint=open_call.to_endpoint,
                    time_limit_seconds=open_call.time_limit_seconds,
                )
                self._timelines.resume(request, open_call.answered_at)
                continue
            reports.append(
                CallReport(
                    sid or "",
                    CallStatus.FAILED,
                    now,
                    account_sid=open_call.account_sid,
                    key=open_call.key,
                    conference_sid=open_call.conference_sid,
                )
            )
        return reports

    async def close(self) -> None:
        self._calls.clear()
        await self._timelines.close()

    # -- scripts (tests and demos) -------------------------------------------------

    def speak(self, call_sid: str, script: Sequence[tuple[float, float]]) -> int:
        """Script speech on a live call: each (start, seconds) from now, a
        participant-speech-start then, and a -stop `seconds` later, reported
        like a carrier's (numbered in the conference, on the clock). Returns
        how many reports were scheduled (0: no such live call)."""
        call = self._calls.get(call_sid)
        if call is None:
            return 0
        for start, seconds in script:
            for delay, event in (
                (start, ConferenceEvent.PARTICIPANT_SPEECH_START),
                (start + seconds, ConferenceEvent.PARTICIPANT_SPEECH_STOP),
            ):
                self._clock.call_later(delay, self._speech_report(call_sid, event))
        return 2 * len(script)

    def _speech_report(
        self, call_sid: str, event: ConferenceEvent
    ) -> Callable[[], Awaitable[None]]:
        async def report() -> None:
            call = self._calls.get(call_sid)
            if call is None:
                return  # the call ended meanwhile: a carrier reports nothing
            self._speech_sequence += 1
            await self._sink(
                ConferenceReport(
                    event,
                    call.conference_sid,
                    self._speech_sequence,
                    self._clock.now(),
                    account_sid=call.account_sid,
                    call_sid=call_sid,
                )
            )

        return report

    # -- introspection ---------------------------------------------------------

    def calls_in_flight(self) -> int:
        return self._timelines.calls_in_flight()

    def retrying(self) -> int:
        """Calls whose next report waits to be offered to the sink again."""
        return self._timelines.retrying()

    # -- internals -------------------------------------------------------------

    async def _progress(self, call_sid: str, statuses: Sequence[CallStatus], at: float) -> None:
        call = self._calls.get(call_sid)
        if call is None:
            return
        if CallStatus.IN_PROGRESS in statuses:
            call.answered = True
            self.mixer.answered(call_sid)
        if statuses[-1].terminal:
            del self._calls[call_sid]
            self.mixer.ended(call_sid)
        await self._report(call_sid, call, statuses, at)

    async def _report(
        self, call_sid: str, call: _Call, statuses: Sequence[CallStatus], at: float
    ) -> None:
        """One report of the statuses taken at `at`, to the sink."""
        await self._sink(self._numbered(call_sid, call, statuses, at))

    @staticmethod
    def _numbered(
        call_sid: str, call: _Call, statuses: Sequence[CallStatus], at: float
    ) -> CallReport:
        """One report of the statuses taken at `at` (numbered one each, like a carrier's)."""
        call.next_sequence += len(statuses)
        return CallReport(
            call_sid,
            statuses[-1],
            at,
            call.next_sequence - 1,
            account_sid=call.account_sid,
            passed=tuple(statuses[:-1]),
        )

    async def _end(self, call_sid: str) -> None:
        call = self._calls.pop(call_sid, None)
        self.mixer.ended(call_sid)
        await self._timelines.hangup(call_sid)
        if call is None:
            return
        status = CallStatus.COMPLETED if call.answered else CallStatus.CANCELED

        async def report() -> None:
            await self._report(call_sid, call, [status], self._clock.now())

        self._clock.call_later(0.0, report)


def _request(account_sid: str, call_sid: str, call: PlaceCall) -> CallRequest:
    return CallRequest(
        account_sid=account_sid,
        call_sid=call_sid,
        to_endpoint=call.to_endpoint,
        timeout_seconds=call.timeout_seconds,
        time_limit_seconds=call.time_limit_seconds,
    )
