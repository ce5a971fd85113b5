"""Speaking state from the carrier's speech reports, coalesced.

Rule 1: a speech report (participant-speech-start / -stop) only notes the
        participant's latest speech state; notes are published together, as
        one change per conference, at most once per `interval` seconds of the
        injected clock, so one participant gets at most one speaking event
        per interval, carrying the latest state (a start and a stop inside
        one interval publish the stop, with last_spoke_at at its time).
Rule 2: the first note after a quiet interval is published at once; later
        ones wait for the next publication (a timer on the clock).
Rule 3: `last_spoke_at` is the carrier's time: the start of the current
        speech while speaking, else the end of the last one. A report older
        (by SequenceNumber) than the one noted for that call changes nothing.
Rule 4: a note not published yet is in memory only: speech is a live
        signal, and a state lost with a process is corrected by the next
        report. A participant that has left, another tenant's call or an
        unknown call is skipped; an unchanged state publishes nothing.
"""

from __future__ import annotations

import dataclasses
import logging

from service.clock import Timer
from service.core.changes import Changes
from service.core.events import EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport
from service.core.ports.store import WriteTransaction
from service.core.records import Participant
from service.core.runtime import Change, Decided, Runtime

log = logging.getLogger("rollcall.core")

SPEECH = frozenset(
    {ConferenceEvent.PARTICIPANT_SPEECH_START, ConferenceEvent.PARTICIPANT_SPEECH_STOP}
)
DEFAULT_INTERVAL = 1.0


@dataclasses.dataclass
class _Note:
    speaking: bool
    at: float
    sequence_number: int
    accounts: frozenset[str] | None


class Speech:
    """The notes of one process, and the timer that publishes them."""

    def __init__(self, runtime: Runtime, interval: float = DEFAULT_INTERVAL) -> None:
        self.runtime = runtime
        self.interval = max(interval, 0.0)
        # call SID -> its latest note, by conference as the carrier names it.
        self.pending: dict[str, dict[str, _Note]] = {}
        self.last_published: float | None = None
        self.timer: Timer | None = None
        self.closed = False

    async def note(self, report: ConferenceReport, accounts: frozenset[str] | None) -> None:
        """Rules 1-3: keep the latest state; publish now when the interval allows."""
        if not report.call_sid or self.closed:
            return
        notes = self.pending.setdefault(report.conference_sid, {})
        known = notes.get(report.call_sid)
        if known is not None and report.sequence_number < known.sequence_number:
            return
        speaking = report.event is ConferenceEvent.PARTICIPANT_SPEECH_START
        notes[report.call_sid] = _Note(speaking, report.timestamp, report.sequence_number, accounts)
        if self.timer is not None:
            return
        now = self.runtime.clock.now()
        due = 0.0 if self.last_published is None else self.last_published + self.interval - now
        if due <= 0:
            await self.publish()
        else:
            self.timer = self.runtime.clock.call_later(due, self._fire)

    async def _fire(self) -> None:
        self.timer = None
        await self.runtime.changes.track(self.publish)

    async def publish(self) -> None:
        """Every note taken, one change per conference."""
        self.last_published = self.runtime.clock.now()
        pending, self.pending = self.pending, {}
        for conference_sid, notes in pending.items():
            try:
                await self.runtime.carry_out(_SpeechChange(notes))
            except Exception:
                log.exception("speech publication failed", extra={"conference": conference_sid})

    async def close(self) -> None:
        """No publication after this (Rule 4: notes not published are dropped)."""
        self.closed = True
        self.pending = {}
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _SpeechChange(Change[None]):
    def __init__(self, notes: dict[str, _Note]) -> None:
        self.notes = notes

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[None]:
        # One carrier conference is one of ours: find it by any of its calls,
        # then read its participants at once.
        members: dict[str, Participant] | None = None
        ch: Changes | None = None
        for call_sid in self.notes:
            found = await tx.participant_by_call_sid(call_sid)
            if found is not None and found.active:
                conf = await tx.conference(found.account_sid, found.conference_sid)
                assert conf is not None
                latest = max(n.at for n in self.notes.values())
                ch = Changes(conf, max(latest, conf.date_updated))
                active = await tx.active_participants(conf.sid)
                members = {p.call_sid: p for p in active}
                break
        if ch is None or members is None:
            return Decided(None, None)
        for call_sid, note in self.notes.items():
            p = members.get(call_sid)
            if p is None:
                continue  # left, or not in this conference
            if note.accounts is not None and p.account_sid not in note.accounts:
                continue
            if _apply(p, note):
                ch.emit(EventType.PARTICIPANT_SPEAKING, p)
        return Decided(None, ch if ch.events else None)


def _apply(p: Participant, note: _Note) -> bool:
    """Rule 3; whether anything changed."""
    if (p.speaking, p.last_spoke_at) == (note.speaking, note.at):
        return False
    if p.last_spoke_at is not None and note.at < p.last_spoke_at:
        return False  # published already with a later time
    p.speaking, p.last_spoke_at = note.speaking, note.at
    return True
