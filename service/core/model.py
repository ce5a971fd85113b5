"""The domain's data: conferences, participants and events, as plain dataclasses.

Rule 1: values use Twilio's own words (participant status `connected`, call
status `no-answer`, end reason `last-participant-left`), so a stored row, an
event and a Twilio-format callback never need a lookup table to agree; the
faces map them to the API's enums by the same words (clients.words).
Rule 2: the core knows no proto names; a row written before a field was
typed is read by the words it holds (a stored proto enum name of a one-word
enum, `HTTP_METHOD_GET`, reads as its last word).
Rule 3: times are float seconds since the Unix epoch from the injected clock.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
from typing import Any


class ParticipantStatus(enum.StrEnum):
    QUEUED = "queued"
    CONNECTING = "connecting"
    RINGING = "ringing"
    CONNECTED = "connected"
    COMPLETE = "complete"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        return self not in (ParticipantStatus.COMPLETE, ParticipantStatus.FAILED)


class CallStatus(enum.StrEnum):
    """Twilio's call statuses: a participant's call, a carrier's report, a simulated step.

    A participant's call_status is never INITIATED (the API has no such word:
    dialing shows as participant status `connecting`, call status `queued`).
    """

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        """The call is over (completed, or never answered and given up)."""
        return self in _ENDED

    @property
    def dialing(self) -> bool:
        """The call is placed and not answered yet (queued, initiated, ringing)."""
        return self in _DIALING

    def progress(self) -> CallStatus:
        """The step the conference rules take for this status: QUEUED reads as
        INITIATED (the carrier holds the call, so dialing has begun)."""
        return CallStatus.INITIATED if self is CallStatus.QUEUED else self


_ENDED = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)
_DIALING = frozenset({CallStatus.QUEUED, CallStatus.INITIATED, CallStatus.RINGING})


class LeaveReason(enum.StrEnum):
    NONE = ""
    CONFERENCE_ENDED_VIA_API = "conference_ended_via_api"
    MODERATOR_ENDED_CONFERENCE = "moderator_ended_conference"
    PARTICIPANT_UPDATED_VIA_API = "participant_updated_via_api"
    PARTICIPANT_HUNG_UP = "participant_hung_up"
    PARTICIPANT_ADD_FAILED = "participant_add_failed"


class Role(enum.StrEnum):
    """A participant's supervisor role (Rollcall's words; Twilio has only coaching).

    none: an ordinary participant. monitor: hears everyone, heard by no one.
    whisper: hears everyone, heard only by its whisper targets (Twilio's
    Coaching with CallSidToCoach is a whisper to one target). barge: hears and
    is heard by everyone.
    """

    NONE = "none"
    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


class ConferenceStatus(enum.StrEnum):
    INIT = "init"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


class EndReason(enum.StrEnum):
    NONE = ""
    CONFERENCE_ENDED_VIA_API = "conference-ended-via-api"
    LAST_PARTICIPANT_KICKED = "last-participant-kicked"
    LAST_PARTICIPANT_LEFT = "last-participant-left"
    EOE_KICKED = "participant-with-end-conference-on-exit-kicked"
    EOE_LEFT = "participant-with-end-conference-on-exit-left"


class EventType(enum.StrEnum):
    PARTICIPANT_JOINED = "participant-join"
    PARTICIPANT_LEFT = "participant-leave"
    PARTICIPANT_MUTED = "participant-mute"
    PARTICIPANT_UNMUTED = "participant-unmute"
    PARTICIPANT_HELD = "participant-hold"
    PARTICIPANT_UNHELD = "participant-unhold"
    PARTICIPANT_MODIFIED = "participant-modify"
    CALL_STATUS_CHANGED = "call-status-changed"
    ANNOUNCEMENT_ENDED = "announcement-end"
    ANNOUNCEMENT_FAILED = "announcement-fail"
    CONFERENCE_STARTED = "conference-start"
    CONFERENCE_ENDED = "conference-end"
    # Rollcall's own: the participant's supervisor role (or its whisper
    # targets) changed; one event carries the whole change, muted and
    # coaching included.
    PARTICIPANT_ROLE_CHANGED = "participant-role"
    # Rollcall's own: the participant moved to another conference (out: in
    # the conference it left; in: in the one it joined); the two events of
    # one move share its Move.
    PARTICIPANT_MOVED_OUT = "participant-moved-out"
    PARTICIPANT_MOVED_IN = "participant-moved-in"


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _legacy_word(word: str) -> str:
    """A one-word value stored as a proto enum name (`REGION_US1`) -> its word (`US1`)."""
    return word.rsplit("_", 1)[-1] if word.isupper() and "_" in word else word


def method_word(value: Any, default: str = "POST") -> str:
    """GET or POST, from Twilio's word in any case (or a stored proto enum name)."""
    word = _legacy_word(str(value or "")).upper()
    return word if word in ("GET", "POST") else default


def event_words(value: Any) -> tuple[str, ...]:
    """Selection words in Twilio's spelling (`ringing`, `announcement`), in
    order, once each, from a list or a space-separated string of them (or of
    stored proto enum names: every selection word is one word)."""
    items = value if isinstance(value, list | tuple) else [value] if value else []
    words: dict[str, None] = {}
    for item in items:
        for part in str(item).split():
            words[_legacy_word(part).lower()] = None
    return tuple(words)


@dataclasses.dataclass(frozen=True)
class StatusCallback:
    """Where and how status callbacks go: Twilio's StatusCallback,
    StatusCallbackMethod and StatusCallbackEvent, in Twilio's words."""

    url: str | None = None
    method: str = "POST"
    # Selected event words; empty: Twilio's default selection.
    events: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "method": self.method, "events": list(self.events)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatusCallback:
        return cls(data.get("url"), data.get("method", "POST"), tuple(data.get("events", ())))

    @classmethod
    def from_settings(cls, settings: dict[str, Any], word: str) -> StatusCallback:
        """From an older row's settings bag (`word`, `word`_method, `word`_event)."""
        return cls(
            str(settings.get(word) or "") or None,
            method_word(settings.get(f"{word}_method")),
            event_words(settings.get(f"{word}_event")),
        )


@dataclasses.dataclass
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    status: ConferenceStatus
    revision: int
    max_participants: int
    date_created: float
    date_updated: float
    # Conference-level settings, fixed by the first participant: its
    # conference status callbacks and region (typed), and the other
    # conference-level Create parameters (recording, trim) as sent, in
    # Twilio's words.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    status_callback: StatusCallback = dataclasses.field(default_factory=StatusCallback)
    # Twilio's Region word (`us1`, `ie1`); empty: not chosen.
    region: str = ""
    end_reason: EndReason = EndReason.NONE
    call_sid_ending_conference: str | None = None
    # The last announcement played to the whole conference (Update Conference).
    announce_url: str | None = None

    @property
    def active(self) -> bool:
        return self.status is not ConferenceStatus.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose (dataclasses.asdict deep-copies): callers serialize it.
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        data["status_callback"] = self.status_callback.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conference:
        values = dict(data)
        if "status_callback" in values:
            values["status_callback"] = StatusCallback.from_dict(values["status_callback"])
        else:  # a row written before typed settings: lift them from the bag
            settings = values.get("settings") or {}
            values["status_callback"] = StatusCallback.from_settings(
                settings, "conference_status_callback"
            )
            values["region"] = _legacy_word(str(settings.get("region") or "")).lower()
        values["status"] = ConferenceStatus(values["status"])
        values["end_reason"] = EndReason(values.get("end_reason", ""))
        return cls(**values)


@dataclasses.dataclass
class Participant:
    call_sid: str
    account_sid: str
    conference_sid: str
    conference_friendly_name: str
    label: str | None
    status: ParticipantStatus
    call_status: CallStatus
    from_endpoint: str
    to_endpoint: str
    date_created: float
    date_updated: float
    revision: int
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    # The supervisor role; coaching and call_sid_to_coach are its Twilio view
    # (coaching: the role is whisper; call_sid_to_coach: its first target).
    role: Role = Role.NONE
    whisper_targets: tuple[str, ...] = ()
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    beep_on_exit: bool = True
    hold_url: str | None = None
    hold_method: str = "GET"
    wait_url: str | None = None
    wait_method: str = "POST"
    announce_url: str | None = None
    announce_method: str = "POST"
    timeout: int = 60
    time_limit: int = 14400
    answered_at: float | None = None
    # Who answered, when the carrier's answering machine detection says
    # (Twilio's AnsweredBy: human, machine_start, fax, ...).
    answered_by: str | None = None
    ended_at: float | None = None
    leave_reason: LeaveReason = LeaveReason.NONE
    # The call's status callbacks (Twilio's StatusCallback* parameters).
    status_callback: StatusCallback = dataclasses.field(default_factory=StatusCallback)
    # Every other Create parameter as sent (field names -> values, enum values
    # in Twilio's words), kept for the carrier and for Fetch parity with
    # Twilio's stored call. A row stored before the bags held Twilio's words
    # keeps its proto enum names here; clients.words reads either.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Order of creation within the store; the List order and page cursor.
    seq: int = 0

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def etag(self) -> str:
        return f'"{self.revision}"'

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose (dataclasses.asdict deep-copies): callers serialize it.
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        data["status_callback"] = self.status_callback.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        values = dict(data)
        if "status_callback" in values:
            values["status_callback"] = StatusCallback.from_dict(values["status_callback"])
        else:  # a row written before typed settings: lift them from the bag
            values["status_callback"] = StatusCallback.from_settings(
                values.get("settings") or {}, "status_callback"
            )
        values["status"] = ParticipantStatus(values["status"])
        values["call_status"] = CallStatus(values["call_status"])
        if "role" in values:
            values["role"] = Role(values["role"])
            values["whisper_targets"] = tuple(values.get("whisper_targets") or ())
        elif values.get("coaching") and values.get("call_sid_to_coach"):
            # A row written before roles: a coach whispers to its one target.
            values["role"] = Role.WHISPER
            values["whisper_targets"] = (values["call_sid_to_coach"],)
        values["leave_reason"] = LeaveReason(values.get("leave_reason", ""))
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Move:
    """One move of a participant: its id, and the conferences it left and joined."""

    id: str
    from_conference: str
    to_conference: str


@dataclasses.dataclass(frozen=True)
class Event:
    """One change to a conference, with the state after it."""

    conference_sid: str
    account_sid: str
    revision: int
    time: float
    type: EventType
    conference: Conference
    participant: Participant | None = None
    move: Move | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "conference_sid": self.conference_sid,
            "account_sid": self.account_sid,
            "revision": self.revision,
            "time": self.time,
            "type": self.type.value,
            "conference": self.conference.to_dict(),
            "participant": None if self.participant is None else self.participant.to_dict(),
            "move": None if self.move is None else dataclasses.asdict(self.move),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        participant = data.get("participant")
        move = data.get("move")
        return cls(
            conference_sid=data["conference_sid"],
            account_sid=data["account_sid"],
            revision=data["revision"],
            time=data["time"],
            type=EventType(data["type"]),
            conference=Conference.from_dict(data["conference"]),
            participant=None if participant is None else Participant.from_dict(participant),
            move=None if move is None else Move(**move),
        )
