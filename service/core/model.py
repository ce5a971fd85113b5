"""The domain's data: conferences, participants and events, as plain dataclasses.

The rule it keeps: values use Twilio's own words (participant status
`connected`, call status `no-answer`, end reason `last-participant-left`), so a
stored row, an event and a Twilio-format callback never need a lookup table to
agree. Times are float seconds since the Unix epoch from the injected clock.
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
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


class LeaveReason(enum.StrEnum):
    NONE = ""
    CONFERENCE_ENDED_VIA_API = "conference_ended_via_api"
    MODERATOR_ENDED_CONFERENCE = "moderator_ended_conference"
    PARTICIPANT_UPDATED_VIA_API = "participant_updated_via_api"
    PARTICIPANT_HUNG_UP = "participant_hung_up"
    PARTICIPANT_ADD_FAILED = "participant_add_failed"


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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


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
    # Conference-level settings, fixed by the first participant (callbacks,
    # recording, trim, region): Twilio wire names -> values.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    end_reason: EndReason = EndReason.NONE
    call_sid_ending_conference: str | None = None
    # The last announcement played to the whole conference (Update Conference).
    announce_url: str | None = None

    @property
    def active(self) -> bool:
        return self.status is not ConferenceStatus.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose (dataclasses.asdict deep-copies): callers serialize it.
        return {name: getattr(self, name) for name in _field_names(type(self))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conference:
        values = dict(data)
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
    ended_at: float | None = None
    leave_reason: LeaveReason = LeaveReason.NONE
    # Every other Create parameter as sent (Twilio wire names -> values),
    # kept for callbacks and for Fetch parity with Twilio's stored call.
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
        return {name: getattr(self, name) for name in _field_names(type(self))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        values = dict(data)
        values["status"] = ParticipantStatus(values["status"])
        values["call_status"] = CallStatus(values["call_status"])
        values["leave_reason"] = LeaveReason(values.get("leave_reason", ""))
        return cls(**values)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "conference_sid": self.conference_sid,
            "account_sid": self.account_sid,
            "revision": self.revision,
            "time": self.time,
            "type": self.type.value,
            "conference": self.conference.to_dict(),
            "participant": None if self.participant is None else self.participant.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        participant = data.get("participant")
        return cls(
            conference_sid=data["conference_sid"],
            account_sid=data["account_sid"],
            revision=data["revision"],
            time=data["time"],
            type=EventType(data["type"]),
            conference=Conference.from_dict(data["conference"]),
            participant=None if participant is None else Participant.from_dict(participant),
        )
