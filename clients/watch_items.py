"""What a watch yields: typed items, event-type words, and ConferenceState.

Rule 1: every item of a WatchConference stream becomes exactly one frozen
dataclass that keeps the raw proto.
Rule 2: one client-made item, Reconnected, says what the client did after
losing its stream ("resumed": nothing is missing, keep your state;
"resnapshot": clear your state, a fresh snapshot follows).
Rule 3: ConferenceState applies items in order and always ends up with the
conference's active participants, keyed by call SID.
Rule 4: event types are named by Twilio's words, from clients.words.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from clients.errors import RollcallClientError
from clients.words import enum_number, words_by_number
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

__all__ = [
    "ConferenceState",
    "EventItem",
    "InitialParticipant",
    "InitialStateComplete",
    "ProgressItem",
    "Reconnected",
    "WatchItem",
    "event_type_number",
    "event_type_word",
    "event_type_words",
    "watch_item",
]

_TYPES = pb.ConferenceEventType
# A participant event after which it is no longer in this conference.
_GONE = (
    _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT,
    _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_MOVED_OUT,
)
# Twilio's conference callback words (StatusCallbackEvent), and ours where
# Twilio has none, from clients.words.
_WORDS = words_by_number(_TYPES.DESCRIPTOR)


def event_type_word(number: int) -> str:
    """Twilio's word for an event type ("participant-mute"); the number if unknown."""
    return _WORDS.get(number, str(number))


def event_type_words() -> list[str]:
    """Every event-type word, in proto order."""
    return list(_WORDS.values())


def event_type_number(value: int | str) -> pb.ConferenceEventType.ValueType:
    """The ConferenceEventType for a Twilio word ("participant-mute"), a proto
    name ("CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED", "participant-muted") or a
    number. Case and punctuation are ignored; ValueError names the words."""
    try:
        number = enum_number(_TYPES.DESCRIPTOR, value)
    except ValueError:
        number = 0
    if number == 0:
        raise ValueError(
            f"{value!r} is not an event type: expected one of {', '.join(event_type_words())}"
        )
    return pb.ConferenceEventType.ValueType(number)


@dataclasses.dataclass(frozen=True)
class InitialParticipant:
    """Snapshot: one participant of the conference as it was when the watch began."""

    participant: participant_pb2.Participant
    raw: pb.WatchConferenceResponse = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class InitialStateComplete:
    """Snapshot: every initial participant has been sent; state is at `revision`."""

    revision: int
    conference: participant_pb2.Conference
    raw: pb.WatchConferenceResponse = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class EventItem:
    """A change: the participant's and conference's full state after it."""

    event: pb.ConferenceEvent
    raw: pb.WatchConferenceResponse = dataclasses.field(repr=False, compare=False)

    @property
    def revision(self) -> int:
        return self.event.revision

    @property
    def type(self) -> int:
        """A ConferenceEventType number."""
        return self.event.type

    @property
    def word(self) -> str:
        """Twilio's word for the type ("participant-mute")."""
        return event_type_word(self.event.type)


@dataclasses.dataclass(frozen=True)
class ProgressItem:
    """Nothing (that passes the filters) happened up to `revision`."""

    revision: int
    raw: pb.WatchConferenceResponse = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Reconnected:
    """The stream broke (`error`) and the client opened a new one.

    kind "resumed": it continues after `revision`; nothing was missed or will be
    repeated. kind "resnapshot": the events after `revision` (None: no complete
    state yet) are gone or the snapshot was cut short; throw the state away,
    a new snapshot follows. attempts: streams that failed before this one.
    """

    kind: Literal["resumed", "resnapshot"]
    revision: int | None
    error: RollcallClientError = dataclasses.field(compare=False)
    attempts: int = 1


WatchItem = InitialParticipant | InitialStateComplete | EventItem | ProgressItem | Reconnected


def watch_item(response: pb.WatchConferenceResponse) -> WatchItem:
    """The item for one WatchConferenceResponse (ValueError when it has none)."""
    which = response.WhichOneof("item")
    if which == "initial_participant":
        return InitialParticipant(response.initial_participant, response)
    if which == "initial_state_complete":
        done = response.initial_state_complete
        return InitialStateComplete(done.revision, done.conference, response)
    if which == "event":
        return EventItem(response.event, response)
    if which == "progress":
        return ProgressItem(response.progress.revision, response)
    raise ValueError("WatchConferenceResponse without an item")


class ConferenceState:
    """A conference's active participants, kept current by a watch's items.

    participants: by call SID. revision: the revision the state is complete
    at (None before the first snapshot completes, or after a resnapshot).
    conference: the conference as of the last snapshot or event that carried it.
    """

    def __init__(self) -> None:
        self.participants: dict[str, participant_pb2.Participant] = {}
        self.revision: int | None = None
        self.conference: participant_pb2.Conference | None = None
        self._in_snapshot = False

    @property
    def ready(self) -> bool:
        """True when the state is complete at `revision`: not before the first
        snapshot completes, nor between a resnapshot and its snapshot's end."""
        return self.revision is not None and not self._in_snapshot

    def by_label(self, label: str) -> participant_pb2.Participant | None:
        return next((p for p in self.participants.values() if p.label == label), None)

    def clear(self) -> None:
        self.participants.clear()
        self.revision = None
        self._in_snapshot = False

    def apply(self, item: WatchItem) -> None:
        match item:
            case InitialParticipant(participant=participant):
                if not self._in_snapshot:  # a new snapshot replaces everything
                    self.clear()
                    self._in_snapshot = True
                self.participants[participant.call_sid] = participant
            case InitialStateComplete(revision=revision, conference=conference):
                if not self._in_snapshot:  # a snapshot of no participants
                    self.clear()
                self._in_snapshot = False
                self.revision = revision
                self.conference = conference
            case EventItem(event=event):
                self._apply_event(event)
            case ProgressItem(revision=revision):
                if not self._in_snapshot:
                    self.revision = max(self.revision or 0, revision)
            case Reconnected(kind=kind):
                if kind == "resnapshot":
                    self.clear()

    def _apply_event(self, event: pb.ConferenceEvent) -> None:
        if self.revision is not None and event.revision <= self.revision:
            return  # already part of this state
        self.revision = event.revision
        if event.HasField("conference"):
            self.conference = event.conference
        if not event.HasField("participant") or not event.participant.call_sid:
            return
        if event.type in _GONE:  # left, or moved to another conference
            self.participants.pop(event.participant.call_sid, None)
        elif event.type == _TYPES.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED:
            # An ended participant's personal fields went: it stays gone if gone.
            if event.participant.call_sid in self.participants:
                self.participants[event.participant.call_sid] = event.participant
        else:
            self.participants[event.participant.call_sid] = event.participant
