"""What an account watch yields, and FloorState, which folds it.

Rule 1: every item of a WatchAccount stream becomes exactly one frozen
dataclass that keeps the raw proto; items that carry a cursor expose it.
Rule 2: the client-made Reconnected item (clients.watch_items) says what the
client did after losing the stream: "resumed" (keep your state) or
"resnapshot" (the cursor expired: clear it, a fresh snapshot follows); its
revision is always None here, the position being the cursor.
Rule 3: FloorState applies items in order and always ends up with the
account's live conferences (passing the stream's filters) and their active
participants, plus when each participant entered its current state.
"""

from __future__ import annotations

import dataclasses

from clients.watch_items import Reconnected, event_type_word
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

__all__ = [
    "AccountEvent",
    "AccountItem",
    "AccountProgress",
    "ConferenceSnapshot",
    "FloorState",
    "SnapshotComplete",
    "account_item",
]

_TYPES = pb.ConferenceEventType
# A participant event after which it is no longer in this conference.
_GONE = (
    _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
    _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_OUT,
)


@dataclasses.dataclass(frozen=True)
class ConferenceSnapshot:
    """Snapshot: one live conference and its active participants."""

    conference: participant_pb2.Conference
    participants: tuple[participant_pb2.Participant, ...]
    raw: pb.WatchAccountResponse = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class SnapshotComplete:
    """Snapshot: every live conference has been sent; the state is at `cursor`."""

    conferences: int
    cursor: str
    raw: pb.WatchAccountResponse = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class AccountEvent:
    """A change of one conference; `cursor` resumes after it."""

    event: pb.ConferenceEvent
    cursor: str
    raw: pb.WatchAccountResponse = dataclasses.field(repr=False, compare=False)

    @property
    def conference_sid(self) -> str:
        return self.event.conference.conference_sid

    @property
    def revision(self) -> int:
        return self.event.revision

    @property
    def word(self) -> str:
        """Twilio's word for the type ("participant-mute")."""
        return event_type_word(self.event.type)


@dataclasses.dataclass(frozen=True)
class AccountProgress:
    """Nothing (that passes the filters) happened up to `cursor`."""

    cursor: str
    raw: pb.WatchAccountResponse = dataclasses.field(repr=False, compare=False)


AccountItem = ConferenceSnapshot | SnapshotComplete | AccountEvent | AccountProgress | Reconnected


def account_item(response: pb.WatchAccountResponse) -> AccountItem:
    """The item for one WatchAccountResponse (ValueError when it has none)."""
    which = response.WhichOneof("item")
    if which == "conference_snapshot":
        snap = response.conference_snapshot
        return ConferenceSnapshot(snap.conference, tuple(snap.participants), response)
    if which == "snapshot_complete":
        return SnapshotComplete(response.snapshot_complete.conferences, response.cursor, response)
    if which == "event":
        return AccountEvent(response.event, response.cursor, response)
    if which == "progress":
        return AccountProgress(response.cursor, response)
    raise ValueError("WatchAccountResponse without an item")


def _state_of(p: participant_pb2.Participant) -> tuple[object, ...]:
    """What "time in the current state" counts from: status, mute, hold, coaching."""
    return (p.status, p.muted, p.hold, p.coaching)


class FloorState:
    """An account's live conferences and their participants, kept current.

    conferences: by conference SID. participants: by conference SID, then by
    call SID. since: when each participant (by call SID) entered its current
    state (status, muted, hold, coaching), in seconds since the epoch, from
    the server's event times. cursor: where the state is complete (None
    before the first snapshot completes, or after a resnapshot).
    """

    def __init__(self) -> None:
        self.conferences: dict[str, participant_pb2.Conference] = {}
        self.participants: dict[str, dict[str, participant_pb2.Participant]] = {}
        self.since: dict[str, float] = {}
        self.cursor: str | None = None
        self._in_snapshot = False

    @property
    def ready(self) -> bool:
        """True when the state is complete at `cursor`."""
        return self.cursor is not None and not self._in_snapshot

    def clear(self) -> None:
        self.conferences.clear()
        self.participants.clear()
        self.since.clear()
        self.cursor = None
        self._in_snapshot = False

    def apply(self, item: AccountItem) -> None:
        match item:
            case ConferenceSnapshot(conference=conference, participants=people):
                if not self._in_snapshot:  # a new snapshot replaces everything
                    self.clear()
                    self._in_snapshot = True
                sid = conference.conference_sid
                self.conferences[sid] = conference
                self.participants[sid] = {p.call_sid: p for p in people}
                for p in people:
                    self.since[p.call_sid] = p.date_updated.ToNanoseconds() / 1e9
            case SnapshotComplete(cursor=cursor):
                if not self._in_snapshot:  # a snapshot of no conferences
                    self.clear()
                self._in_snapshot = False
                self.cursor = cursor
            case AccountEvent(event=event, cursor=cursor):
                self._apply_event(event)
                self.cursor = cursor or None
            case AccountProgress(cursor=cursor):
                if not self._in_snapshot:
                    self.cursor = cursor or None
            case Reconnected(kind=kind):
                if kind == "resnapshot":
                    self.clear()

    def _apply_event(self, event: pb.ConferenceEvent) -> None:
        sid = event.conference.conference_sid
        if (
            event.type == _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED
            and sid not in self.conferences
        ):
            return  # a redaction in a conference that ended: nothing on the floor changes
        if event.type == _TYPES.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED:
            self.conferences.pop(sid, None)
            for call_sid in self.participants.pop(sid, {}):
                self.since.pop(call_sid, None)
            return
        self.conferences[sid] = event.conference
        people = self.participants.setdefault(sid, {})
        if not event.HasField("participant") or not event.participant.call_sid:
            return
        p = event.participant
        if event.type in _GONE or p.status in (
            participant_pb2.PARTICIPANT_STATUS_COMPLETE,
            participant_pb2.PARTICIPANT_STATUS_FAILED,
        ):
            people.pop(p.call_sid, None)
            self.since.pop(p.call_sid, None)
            return
        old = people.get(p.call_sid)
        if old is None or _state_of(old) != _state_of(p):
            self.since[p.call_sid] = event.time.ToNanoseconds() / 1e9
        people[p.call_sid] = p
