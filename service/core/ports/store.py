"""The store port: what the core needs from durable storage.

Rule 1: every change happens inside one write transaction that writes the
        participant or conference row, bumps the conference revision and appends
        the event row together.
Rule 2: revisions are per conference, strictly increasing and visible in commit
        order.
Rule 3: writes to one conference are serialized (SQLite and memory: one writer;
        PostgreSQL: the conference row is locked FOR UPDATE), so the core reads,
        decides and writes without races.
Rule 4: what accumulates goes when its retention window has passed, removed by
        the expire_* methods: each call is one short write transaction of at
        most `limit` rows and returns how many went (0: nothing left to
        remove), so removing never holds the writers up for long.
Rule 5: every conference gets an arrival mark when it is created, and every
        `floor` read a horizon: no conference with a mark below a read's
        horizon can commit after that read. Marks need no lock shared by
        writers (SQLite and memory: the creation order, as there is one
        writer; PostgreSQL: the creating transaction's id, the horizon the
        oldest transaction still running when the read began).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from service.core.events import Event
from service.core.ports.privacy import PrivacyReads, PrivacyWrites
from service.core.records import Conference, Participant
from service.core.statuses import ConferenceStatus


@dataclasses.dataclass(frozen=True)
class ParticipantFilter:
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    include_ended: bool = False
    # Attributes every listed participant has (service.core.attributes.Filter).
    attributes: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Page:
    # A tuple: a page may be shared by every caller that asked for it.
    participants: tuple[Participant, ...]
    # Cursors: seq after which the next page starts, seq before which the
    # previous page ends; None when there is no such page.
    next_after: int | None
    previous_before: int | None
    revision: int


@dataclasses.dataclass(frozen=True)
class ConferenceFilter:
    """Which of an account's conferences a list shows. Times are clock seconds;
    each range is half-open: `*_from` inclusive, `*_before` exclusive."""

    friendly_name: str | None = None
    status: ConferenceStatus | None = None
    created_from: float | None = None
    created_before: float | None = None
    updated_from: float | None = None
    updated_before: float | None = None


@dataclasses.dataclass(frozen=True)
class ConferencePage:
    """One page of conferences, newest first (by creation order).

    Cursors are the store's creation-order key of a conference: the next page
    holds conferences created before `next_before`, the previous page those
    created after `previous_after`; None when there is no such page.
    """

    conferences: list[Conference]
    next_before: int | None
    previous_after: int | None


@dataclasses.dataclass(frozen=True)
class FloorConference:
    """One conference of a Floor read.

    ord: its creation-order key (list_conferences' cursor), unique in the store;
    mark: its arrival mark (Rule 4); participants: when asked for and the
    conference is live, its active participants at `conference.revision`,
    oldest first (None otherwise).
    """

    ord: int
    mark: int
    conference: Conference
    participants: tuple[Participant, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Floor:
    """One consistent read of an account's conferences (Store.floor).

    horizon: every conference with an arrival mark below it that ever commits
    had committed before this read (Rule 4), so it is in this read when it
    was selected; one at or above it may still appear. truncated: more
    conferences were selected than the read's limit; `conferences` is cut.
    """

    conferences: list[FloorConference]
    horizon: int
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class WebhookCursor:
    """How far status callback delivery has got in one conference's event log.

    Every callback of the events up to `revision` is done (delivered or given
    up), and so are the first `step` callbacks of event `revision + 1`;
    `sequence` is the next conference SequenceNumber.
    """

    conference_sid: str
    account_sid: str
    revision: int = 0
    step: int = 0
    sequence: int = 1


@dataclasses.dataclass(frozen=True)
class Placement:
    """A Create's call being placed at a remote carrier and not yet recorded.

    key: the PlaceCall key (the carrier knows the call by a label derived
    from it); conference_sid: the Rollcall conference it was placed for;
    placed_at: clock seconds when the Create decided to place it.
    """

    key: str
    account_sid: str
    conference_sid: str
    placed_at: float


class WriteTransaction(PrivacyWrites, Protocol):
    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None:
        """The conference, locked for this transaction."""
        ...

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None: ...

    async def participant(self, conference_sid: str, key: str) -> Participant | None:
        """By call SID, or by label (the active holder, else the latest)."""
        ...

    async def participant_by_call_sid(self, call_sid: str) -> Participant | None: ...

    async def active_participants(self, conference_sid: str) -> list[Participant]: ...

    async def count_active(self, conference_sid: str) -> int: ...

    async def active_label_taken(self, conference_sid: str, label: str) -> bool: ...

    async def active_participant(self, conference_sid: str, call_sid: str) -> Participant | None:
        """The participant with this call SID, if it is active in this conference."""
        ...

    async def insert_conference(self, conference: Conference) -> None: ...

    async def update_conference(self, conference: Conference) -> None: ...

    async def insert_participant(self, participant: Participant) -> Participant:
        """Stores a new participant; returns it with its seq assigned."""
        ...

    async def update_participant(self, participant: Participant) -> None: ...

    async def append_events(self, events: Sequence[Event]) -> None:
        """Append a change's events, in revision order (one round trip where
        the database allows)."""
        ...

    async def request(self, account_sid: str, request_id: str) -> tuple[str, str] | None:
        """(call_sid, fingerprint) of an earlier Create with this request_id."""
        ...

    async def record_request(
        self, account_sid: str, request_id: str, call_sid: str, fingerprint: str, at: float
    ) -> None:
        """Remember a Create's request_id, recorded at `at` (clock seconds)."""
        ...

    async def forget_request(self, account_sid: str, request_id: str) -> None:
        """Drop a request_id whose participant retention has removed (no-op
        when unknown): a Create with it again is a new one."""
        ...

    # -- the carrier's side of calls (carrier port) --

    async def carrier_call(self, call_sid: str) -> tuple[str, int | None] | None:
        """(carrier conference SID, last applied call SequenceNumber) of a placed call."""
        ...

    async def save_carrier_call(
        self, call_sid: str, carrier_conference_sid: str, last_sequence: int | None, at: float
    ) -> None:
        """Store a call's carrier row, written at `at` (clock seconds: its
        retention counts from the last write)."""
        ...

    async def carrier_event_sequence(self, scope: str) -> int | None: ...

    async def save_carrier_event_sequence(self, scope: str, last_sequence: int) -> None: ...

    async def carrier_callback_seen(self, token: str) -> bool:
        """Whether a carrier callback with this idempotency token was applied."""
        ...

    async def record_carrier_callback(self, token: str, at: float) -> None: ...

    # -- calls placed and not yet recorded (a remote carrier's Create) --

    async def record_placement(
        self, key: str, account_sid: str, conference_sid: str, at: float
    ) -> None:
        """Remember a call about to be placed (the same key again: the newer wins)."""
        ...

    async def forget_placement(self, key: str) -> None:
        """The call was recorded, or is known not to ring (no-op when unknown)."""
        ...

    async def placements_before(self, at: float, *, mine: bool = False) -> list[Placement]:
        """Placements recorded before `at` (clock seconds), oldest first; with
        `mine`, also every one this process's earlier run recorded (its
        replica id; memory: its owner; for SQLite, one process's store, all
        of them): called at start, when none of them can still be in flight."""
        ...


class Store(PrivacyReads, Protocol):
    async def open(self) -> None:
        """Connect and apply pending schema migrations."""
        ...

    async def close(self) -> None: ...

    def write(self) -> AbstractAsyncContextManager[WriteTransaction]:
        """A write transaction: commits on normal exit, rolls back on error."""
        ...

    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None: ...

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None: ...

    async def participant(
        self, conference_sid: str, key: str, *, include_ended: bool
    ) -> Participant | None: ...

    async def participant_in(
        self, account_sid: str, conference: str, by_sid: bool, key: str, *, include_ended: bool
    ) -> Participant | None:
        """The participant `key` (call SID or label) of the account's conference,
        named by SID or (active only) by friendly name, in one read."""
        ...

    async def list_participants(
        self,
        conference_sid: str,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None = None,
        before: int | None = None,
    ) -> Page: ...

    async def list_conferences(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None = None,
        after: int | None = None,
    ) -> ConferencePage:
        """The account's conferences matching `flt`, newest first, at most
        `page_size`: those created before cursor `before` (the next page), or
        the page just after cursor `after` (the previous page), or the first.
        Each conference carries its revision as committed when it was read."""
        ...

    async def events(self, conference_sid: str, after_revision: int, limit: int) -> list[Event]:
        """Events with revision > after_revision, oldest first, at most limit."""
        ...

    async def floor(
        self,
        account_sid: str,
        *,
        live: bool,
        ords: Collection[int] = (),
        since: int | None = None,
        participants: bool = False,
        limit: int,
    ) -> Floor:
        """The account's conferences, read in one consistent snapshot: every
        live one (with `live`), every one whose ord is in `ords`, and every
        one whose arrival mark is at least `since` (None: at least the
        horizon of this very read), ended ones included, by ord; the live
        ones with their active participants when `participants` is set. At
        most `limit` conferences (then `truncated`)."""
        ...

    async def oldest_revision(self, conference_sid: str) -> int | None:
        """The lowest revision still in the event log (None when it is empty)."""
        ...

    async def compact(self, older_than: float, keep: int, *, batch: int = 500) -> int:
        """Delete events older than `older_than` (clock seconds), keeping at least
        the newest `keep` of each conference. Returns how many were deleted.
        Each write transaction deletes at most `batch` events (Rule 4), so
        changes wait at most one batch for the writer, never the whole pass."""
        ...

    # -- retention (Rule 4) --------------------------------------------------------

    async def expire_participants(self, ended_before: float, limit: int) -> int:
        """Delete up to `limit` participants whose call ended before
        `ended_before` (clock seconds); an active one is never touched."""
        ...

    async def expire_conferences(self, ended_before: float, limit: int) -> int:
        """Remove conferences that ended before `ended_before` and whose status
        callbacks are all done, with everything they hold: up to `limit` of
        their events, else of their participants, else the conferences
        themselves (with their callback cursors, call counters and dead
        letters). Returns how many rows went; 0 when none is left."""
        ...

    async def expire_requests(self, recorded_before: float, limit: int) -> int:
        """Delete up to `limit` Create request_ids recorded before `recorded_before`:
        a Create with one of them again is a new Create."""
        ...

    async def expire_carrier_calls(self, ended_before: float, limit: int) -> int:
        """Delete up to `limit` rows of the carrier's side of calls: a call's row
        and its conference-event sequence once its participant ended before
        `ended_before` (or is gone), a carrier conference's own sequence once
        none of its calls is left, and placements recorded before
        `ended_before` that recovery never resolved."""
        ...

    async def expire_carrier_callbacks(self, received_before: float, limit: int) -> int:
        """Delete up to `limit` carrier callback idempotency tokens received
        before `received_before` (a carrier retries a callback for minutes)."""
        ...

    async def active_participants_everywhere(self) -> list[Participant]:
        """Every participant whose call has not ended (for restart recovery)."""
        ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def set_meta_once(self, key: str, value: str) -> str:
        """Store `value` under `key` unless a non-empty value is there already;
        return the value kept. The first write wins, also between processes
        sharing the store (replicas starting at once agree on it)."""
        ...

    async def webhook_cursor(self, conference_sid: str) -> WebhookCursor | None:
        """The conference's callback cursor (None before its first save)."""
        ...

    async def call_sequences(self, conference_sid: str) -> dict[str, int]:
        """Next call-progress SequenceNumber of each of the conference's calls."""
        ...

    async def save_webhook_cursor(
        self, cursor: WebhookCursor, calls: dict[str, int], *, finished: bool = False
    ) -> None:
        """Store the cursor and the given calls' next SequenceNumbers in one
        transaction; `finished` (the conference is over and every callback is
        done) drops the conference's call counters. A cursor never moves
        backwards: saving one behind the stored one changes nothing."""
        ...

    async def webhook_backlog(self) -> list[tuple[str, str]]:
        """(account_sid, conference_sid) of every conference whose callback
        cursor is behind its revision."""
        ...
