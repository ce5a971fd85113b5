"""One write transaction's changes to one conference: revisions and events.

The rule it keeps: every state change goes through emit(),
which bumps the conference revision, stamps the participant with it, writes
the row and appends the event row, all inside the caller's transaction. So
each revision has exactly one event and nothing is announced uncommitted.
"""

from __future__ import annotations

import copy

from service.core.model import Conference, Event, EventType, Participant
from service.core.ports.store import WriteTransaction


class Changes:
    def __init__(self, tx: WriteTransaction, conference: Conference, now: float) -> None:
        self.tx = tx
        self.conference = conference
        self.now = now
        self.events: list[Event] = []
        # Calls the dialer must end once the transaction has committed.
        self.hangups: list[str] = []

    async def emit(
        self, kind: EventType, participant: Participant | None = None, *, new: bool = False
    ) -> None:
        conf = self.conference
        conf.revision += 1
        conf.date_updated = self.now
        if participant is not None:
            participant.revision = conf.revision
            participant.date_updated = self.now
            if new:
                await self.tx.insert_participant(participant)
            else:
                await self.tx.update_participant(participant)
        event = Event(
            conference_sid=conf.sid,
            account_sid=conf.account_sid,
            revision=conf.revision,
            time=self.now,
            type=kind,
            conference=copy.copy(conf),
            participant=None if participant is None else copy.copy(participant),
        )
        await self.tx.append_event(event)
        self.events.append(event)

    async def finish(self) -> None:
        """Write the conference row (its revision) if anything changed."""
        if self.events:
            await self.tx.update_conference(self.conference)
