"""The memory store's tables: the committed state of one in-memory database.

Rule 1: a committed Tables is never changed in place: a write transaction
        changes its own shallow copy, and its commit replaces the state whole.
Rule 2: every row is immutable (frozen rows, JSON text, tuples), so a copy
        shares rows safely and a reader never sees a change half made.
Rule 3: a model object is stored as its JSON (the SQL stores' encoding) and
        decoded afresh on every read, so each caller gets its own copy.
Rule 4: a MemoryDatabase outlives the stores opened on it, like a database
        file: stores sharing one are processes sharing that database, and
        its lock lets one writer at a time in across all of them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson

from service.core.audit import AuditRecord
from service.core.events import Event
from service.core.ports.dead_letters import DeadLetter
from service.core.ports.store import Placement, WebhookCursor
from service.core.records import Conference, Participant
from service.core.statuses import ConferenceStatus
from service.store.rows import dumps, participant_from_row


class ConstraintViolation(Exception):
    """A write that breaks a rule the SQL schemas hold as a constraint."""


@dataclasses.dataclass(frozen=True)
class ConferenceRow:
    order: int  # creation order: the list order and its cursor
    sid: str
    account_sid: str
    friendly_name: str
    status: ConferenceStatus
    revision: int
    date_created: float
    date_updated: float
    data: str

    @classmethod
    def of(cls, order: int, conference: Conference) -> ConferenceRow:
        return cls(
            order,
            conference.sid,
            conference.account_sid,
            conference.friendly_name,
            conference.status,
            conference.revision,
            conference.date_created,
            conference.date_updated,
            dumps(conference),
        )

    @property
    def active(self) -> bool:
        return self.status is not ConferenceStatus.COMPLETED

    def decode(self) -> Conference:
        return Conference.from_dict(orjson.loads(self.data))


@dataclasses.dataclass(frozen=True)
class ParticipantRow:
    seq: int  # creation order: the list order and its cursor
    call_sid: str
    conference_sid: str
    label: str | None
    active: bool
    muted: bool
    hold: bool
    coaching: bool
    data: str
    # When its call ended (None while active): what retention goes by.
    ended_at: float | None = None

    @classmethod
    def of(cls, seq: int, p: Participant) -> ParticipantRow:
        ended = None if p.active else (p.date_updated if p.ended_at is None else p.ended_at)
        return cls(
            seq, p.call_sid, p.conference_sid, p.label, p.active, p.muted, p.hold, p.coaching,
            dumps(p), ended,
        )  # fmt: skip

    def decode(self) -> Participant:
        return participant_from_row((self.seq, self.data))


@dataclasses.dataclass(frozen=True)
class EventRow:
    revision: int
    time: float
    data: str

    def decode(self) -> Event:
        return Event.from_dict(orjson.loads(self.data))


@dataclasses.dataclass(frozen=True)
class PlacementRow:
    placement: Placement
    owner: str  # the store owner that recorded it (see MemoryStore)


@dataclasses.dataclass(frozen=True)
class LetterRow:
    letter: DeadLetter  # with empty params: they are kept as JSON below
    params: str

    @classmethod
    def of(cls, letter: DeadLetter) -> LetterRow:
        params = orjson.dumps(letter.params).decode()
        return cls(dataclasses.replace(letter, params={}), params)

    def decode(self) -> DeadLetter:
        return dataclasses.replace(self.letter, params=orjson.loads(self.params))


@dataclasses.dataclass
class Tables:
    conferences: dict[str, ConferenceRow] = dataclasses.field(default_factory=dict)
    participants: dict[str, ParticipantRow] = dataclasses.field(default_factory=dict)
    # By conference, in revision order.
    events: dict[str, tuple[EventRow, ...]] = dataclasses.field(default_factory=dict)
    # (account_sid, request_id) -> (call_sid, fingerprint)
    requests: dict[tuple[str, str], tuple[str, str]] = dataclasses.field(default_factory=dict)
    # (account_sid, request_id) -> when it was recorded
    request_times: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    meta: dict[str, str] = dataclasses.field(default_factory=dict)
    webhook_cursors: dict[str, WebhookCursor] = dataclasses.field(default_factory=dict)
    # call_sid -> (conference_sid, next call-progress SequenceNumber)
    call_sequences: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    # call_sid -> (carrier conference SID, last applied SequenceNumber)
    carrier_calls: dict[str, tuple[str, int | None]] = dataclasses.field(default_factory=dict)
    # call_sid -> when its carrier row was last written
    carrier_call_times: dict[str, float] = dataclasses.field(default_factory=dict)
    carrier_event_sequences: dict[str, int] = dataclasses.field(default_factory=dict)
    carrier_callbacks: dict[str, float] = dataclasses.field(default_factory=dict)  # token -> at
    placements: dict[str, PlacementRow] = dataclasses.field(default_factory=dict)
    dead_letters: dict[int, LetterRow] = dataclasses.field(default_factory=dict)
    # id -> audit record (frozen: a snapshot), ids in the order written.
    audit: dict[int, AuditRecord] = dataclasses.field(default_factory=dict)
    # (account_sid, number digest, call_sid) -> conference_sid
    number_index: dict[tuple[str, str, str], str] = dataclasses.field(default_factory=dict)
    # The last creation-order key given out (a rolled-back write gives none out).
    last_seq: int = 0
    last_order: int = 0
    last_letter_id: int = 0
    last_audit_id: int = 0

    def copy(self) -> Tables:
        """A copy whose tables can change without touching this one's (Rule 1)."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            values[field.name] = dict(value) if isinstance(value, dict) else value
        return Tables(**values)


class MemoryDatabase:
    """The committed tables and the lock that lets one writer in (Rule 4)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.write_lock = asyncio.Lock()
