"""One change to one conference, decided in memory, then written in one go.

Rule 1: every state change goes through emit(), which bumps the conference
        revision, stamps the participant with it and records the row and the event;
        nothing touches the store while a change is decided.
Rule 2: apply() writes inside the caller's write transaction: the conference row
        first when it is new, each participant row once (as it was last, in emit
        order), the events together, then the conference row.
Rule 3: so each revision has exactly one event, and nothing is announced
        uncommitted; apply() also reads the carrier identities of the calls to end
        after the commit.
Rule 4: each event names its actor: who acts where the change is decided
        (service.core.actors), or Rollcall with the rule an emit names; apply()
        writes one audit record per event beside it.
Rule 5: emit() also brings the participant's clocks and its conference's
        presence up to date at the change's time (service.core.clocks,
        service.core.presence), so they are derived at commit.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator

from service.core import actors, clocks, presence
from service.core.audit import record_of
from service.core.events import Event, EventType, Move
from service.core.personal import NumberHasher
from service.core.ports.carrier import CallTarget
from service.core.ports.store import WriteTransaction
from service.core.records import Alert, Conference, Participant


@dataclasses.dataclass(frozen=True)
class _Write:
    participant: Participant | None
    new: bool
    event: Event


class Changes:
    def __init__(self, conference: Conference, now: float, *, new_conference: bool = False) -> None:
        self.conference = conference
        self.now = now
        self.new_conference = new_conference
        self.events: list[Event] = []
        self._writes: list[_Write] = []
        # Calls the carrier must end once the transaction has committed, and
        # (filled by apply) the carrier's identities for them.
        self.hangups: list[str] = []
        self.kicks: list[CallTarget] = []
        self.actor = actors.current()

    @contextlib.contextmanager
    def acting(self, actor: actors.Actor, at: float) -> Iterator[None]:
        """Emit as `actor` at `at` (or later) for a while: the carrier's steps
        recorded inside another actor's change (a Create's dialing)."""
        saved, self.actor = self.actor, actor
        self.now = max(self.now, at)
        try:
            yield
        finally:
            self.actor = saved

    def emit_alert(self, alert: Alert, participant: Participant | None) -> None:
        """A CONFERENCE_ALERT (about a participant for a hold)."""
        self.emit(EventType.CONFERENCE_ALERT, participant, alert=alert)

    def emit(
        self,
        kind: EventType,
        participant: Participant | None = None,
        *,
        new: bool = False,
        rule: str = "",
        alert: Alert | None = None,
        move: Move | None = None,
    ) -> None:
        """Record one change; `rule`: the rule of Rollcall's that made it (Rule 4)."""
        conf = self.conference
        conf.revision += 1
        conf.date_updated = self.now
        row = None
        if participant is not None:
            clocks.tick(participant, self.now)
            presence.count(conf, participant, self.now)
            participant.revision = conf.revision
            participant.date_updated = self.now
            row = copy.copy(participant)
        event = Event(
            conference_sid=conf.sid,
            account_sid=conf.account_sid,
            revision=conf.revision,
            time=self.now,
            type=kind,
            conference=copy.copy(conf),
            participant=None if participant is None else copy.copy(participant),
            actor=self.actor.by_rule(rule) if rule else self.actor,
            alert=alert,
            move=move,
        )
        self._writes.append(_Write(row, new, event))
        self.events.append(event)


async def apply(tx: WriteTransaction, ch: Changes, numbers: NumberHasher | None = None) -> None:
    """Write what `ch` decided: rows in order (a new participant indexed by the
    keyed hashes of its numbers, with `numbers`), then its events and their
    audit records, then the conference; and read the carrier's identities of
    the calls to end after the commit."""
    if ch.new_conference:
        await tx.insert_conference(ch.conference)
    # A participant changed several times in one change is written once, as
    # it was last (inserted, if it is new); every event is appended.
    last: dict[str, int] = {}
    inserted: set[str] = set()
    for index, write in enumerate(ch._writes):
        if write.participant is not None:
            last[write.participant.call_sid] = index
            if write.new:
                inserted.add(write.participant.call_sid)
    for index, write in enumerate(ch._writes):
        row = write.participant
        if row is not None and last[row.call_sid] == index:
            if row.call_sid in inserted:
                await tx.insert_participant(row)
                if numbers is not None:
                    digests = numbers.digests(row)
                    await tx.index_numbers(
                        row.account_sid, row.conference_sid, row.call_sid, digests
                    )
            else:
                await tx.update_participant(row)
    if ch.events:
        await tx.append_events(ch.events)
        await tx.append_audit([record_of(event) for event in ch.events])
    if ch.events and not ch.new_conference:
        await tx.update_conference(ch.conference)
    for call_sid in ch.hangups:
        carrier = await tx.carrier_call(call_sid)
        conference_sid = ch.conference.sid if carrier is None else carrier[0]
        ch.kicks.append(CallTarget(ch.conference.account_sid, conference_sid, call_sid))
