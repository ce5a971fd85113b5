"""The audit trail: one record per change, naming its actor, kept apart from the event log.

Rule 1: every event a change writes gets an audit record in the same
        transaction (service.core.changes), so the trail has every committed
        change and nothing else.
Rule 2: a record holds SIDs, the event type, times and its actor, never a
        participant's personal fields (numbers, addresses, labels, names):
        it names the change, not the data.
Rule 3: records have their own retention window (audit_retention_seconds),
        independent of the event log's compaction; the lease holder's
        maintenance removes the older ones (Store.expire_audit).
Rule 4: reads are per account, newest first, filtered by time range (half
        open: `time_from` inclusive, `time_before` exclusive), actor SID or
        kind, resource, conference and event type; `id` is the page cursor.
"""

from __future__ import annotations

import dataclasses

from service.core.actors import Actor, ActorKind
from service.core.events import Event


@dataclasses.dataclass(frozen=True)
class AuditRecord:
    """One change. resource: the participant's call SID, or the conference's
    SID (the account's SID for an account-wide change such as an erase);
    detail: what an account-wide change did, in words (never personal data)."""

    account_sid: str
    time: float
    conference_sid: str
    revision: int
    event_type: str
    resource: str
    actor: Actor
    detail: str = ""
    # Assigned by the store: increasing in the order records were written.
    id: int = 0


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    time_from: float | None = None
    time_before: float | None = None
    actor_sid: str = ""
    actor_kind: ActorKind | None = None
    resource: str = ""
    conference_sid: str = ""
    event_type: str = ""

    def matches(self, r: AuditRecord) -> bool:
        """The filter as the in-memory store applies it (the SQL stores in SQL)."""
        return (
            (self.time_from is None or r.time >= self.time_from)
            and (self.time_before is None or r.time < self.time_before)
            and (not self.actor_sid or r.actor.sid == self.actor_sid)
            and (self.actor_kind is None or r.actor.kind is self.actor_kind)
            and (not self.resource or r.resource == self.resource)
            and (not self.conference_sid or r.conference_sid == self.conference_sid)
            and (not self.event_type or r.event_type == self.event_type)
        )


def record_of(event: Event) -> AuditRecord:
    participant = event.participant
    return AuditRecord(
        account_sid=event.account_sid,
        time=event.time,
        conference_sid=event.conference_sid,
        revision=event.revision,
        event_type=event.type.value,
        resource=event.conference_sid if participant is None else participant.call_sid,
        actor=event.actor or Actor(),
    )
