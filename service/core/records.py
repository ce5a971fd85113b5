"""The conference and participant records, with their callback and alert settings.

Rule 1: plain dataclasses, in Twilio's words (service.core.statuses); the faces
        map them to the API by word.
Rule 2: a row written before a field was typed is read by the words it holds (a
        stored proto enum name of a one-word enum, `HTTP_METHOD_GET`, reads as
        its last word; settings kept in the bag are lifted out of it).
Rule 3: to_dict is shallow on purpose (callers serialize it); from_dict reads any
        row an older release wrote.
Rule 4: times are float seconds since the Unix epoch from the injected clock.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
from typing import Any

from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
    Role,
)

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


class AlertKind(enum.StrEnum):
    HOLD = "hold"
    DURATION = "duration"
    EMPTY = "empty"
    NO_AGENT = "no-agent"


@dataclasses.dataclass(frozen=True)
class AlertRules:
    """A conference's alert thresholds in seconds (0: off), service.core.alerts."""

    hold_seconds: float = 0.0
    duration_seconds: float = 0.0
    empty_seconds: float = 0.0
    no_agent_seconds: float = 0.0
    # Who counts as an agent: `key=value` on the participant's attributes.
    agent_attribute: str = "role=agent"
    # A duration, empty or no-agent alert also ends the conference.
    end_conference: bool = False

    @property
    def any(self) -> bool:
        return any(
            (self.hold_seconds, self.duration_seconds, self.empty_seconds, self.no_agent_seconds)
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertRules:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Alert:
    """One alert: what crossed its threshold, since when (and whose hold)."""

    kind: AlertKind
    threshold_seconds: float
    since: float
    call_sid: str | None = None
    ends_conference: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{**data, "kind": AlertKind(data["kind"])})


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
    # The last announcement played to the whole conference (Update Conference),
    # and why it failed, when the carrier said (ReasonAnnouncementFailed).
    announce_url: str | None = None
    announcement_failure: str | None = None
    # Alerts (service.core.alerts): the rules, fixed at creation, and the
    # alerts already fired, one key per crossing.
    alerts: AlertRules | None = None
    alerts_fired: list[str] = dataclasses.field(default_factory=list)
    # Who is connected (service.core.presence): how many, how many agents, and
    # since when none is (None: someone is, or a row from before they were kept).
    present: int = 0
    agents: int = 0
    empty_since: float | None = None
    no_agent_since: float | None = None

    @property
    def active(self) -> bool:
        return self.status is not ConferenceStatus.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose (dataclasses.asdict deep-copies): callers serialize it.
        data = {name: getattr(self, name) for name in _field_names(type(self))}
        data["status_callback"] = self.status_callback.to_dict()
        data["alerts"] = None if self.alerts is None else self.alerts.to_dict()
        data["alerts_fired"] = list(self.alerts_fired)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conference:
        values = dict(data)
        if values.get("alerts") is not None:
            values["alerts"] = AlertRules.from_dict(values["alerts"])
        if "alerts_fired" in values:
            values["alerts_fired"] = list(values["alerts_fired"])
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
    # What the carrier said of the call's end, when it said (Twilio's
    # CallDuration in seconds, Duration, SipResponseCode).
    carrier_call_duration: int | None = None
    carrier_duration: int | None = None
    sip_response_code: int | None = None
    # The call-progress steps recorded for the call, in order (Twilio's words
    # initiated, ringing, answered); None on a row from before they were kept.
    progress: list[str] | None = None
    # Why the last announcement to it failed, when the carrier said.
    announcement_failure: str | None = None
    # The call's status callbacks (Twilio's StatusCallback* parameters).
    status_callback: StatusCallback = dataclasses.field(default_factory=StatusCallback)
    # Every other Create parameter as sent (field names -> values, enum values
    # in Twilio's words), kept for the carrier and for Fetch parity with
    # Twilio's stored call. A row stored before the bags held Twilio's words
    # keeps its proto enum names here; clients.words reads either.
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Order of creation within the store; the List order and page cursor.
    seq: int = 0
    # Clocks (service.core.clocks): a total of closed intervals in seconds,
    # and when the open one began (None: none open). Kept by Changes.emit.
    queue_seconds: float = 0.0
    queue_since: float | None = None
    ring_seconds: float = 0.0
    ring_since: float | None = None
    talk_seconds: float = 0.0
    talk_since: float | None = None
    hold_count: int = 0
    hold_seconds: float = 0.0
    hold_since: float | None = None
    mute_count: int = 0
    mute_seconds: float = 0.0
    mute_since: float | None = None
    # The status status_since dates (clocks' own bookkeeping).
    status_since: float | None = None
    clocked_status: str = ""
    # Speech, from the carrier's reports (coalesced, service.core.speech).
    speaking: bool = False
    last_spoke_at: float | None = None
    # The tenant's key/value attributes (service.core.attributes); never sent
    # to the carrier.
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    # What it counts for in its conference's presence ("", "present", "agent").
    presence: str = ""

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
        if values.get("attributes"):
            values["attributes"] = dict(values["attributes"])
        return cls(**values)
