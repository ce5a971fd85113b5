"""A conference's events: what changed, with the state after it.

Rule 1: an Event is one change to one conference at its revision; it carries
        the conference (and the participant) as they stand after the change.
Rule 2: event types are Twilio's conference event words (`participant-join`),
        plus Rollcall's own for what Twilio has no word for.
Rule 3: to_dict and from_dict round-trip an event through the store and the feed.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from service.core.actors import Actor
from service.core.records import Alert, Conference, Participant


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
    # Rollcall's own (issue 24): the carrier's speech reports, coalesced, and
    # the answering-machine result once known.
    PARTICIPANT_SPEAKING = "participant-speaking"
    PARTICIPANT_ANSWERED_BY = "participant-answered-by"
    # An alert of the conference's timers (service.core.alerts).
    CONFERENCE_ALERT = "conference-alert"
    # Personal fields were redacted (erased, or past their retention).
    PARTICIPANT_REDACTED = "participant-redacted"


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
    # Who caused it (None: an event recorded before actors were).
    actor: Actor | None = None
    # A CONFERENCE_ALERT's alert.
    alert: Alert | None = None
    move: Move | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "conference_sid": self.conference_sid,
            "account_sid": self.account_sid,
            "revision": self.revision,
            "time": self.time,
            "type": self.type.value,
            "conference": self.conference.to_dict(),
            "participant": None if self.participant is None else self.participant.to_dict(),
            "actor": None if self.actor is None else self.actor.to_dict(),
            "alert": None if self.alert is None else self.alert.to_dict(),
            "move": None if self.move is None else dataclasses.asdict(self.move),
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        participant = data.get("participant")
        actor = data.get("actor")
        move = data.get("move")
        return cls(
            conference_sid=data["conference_sid"],
            account_sid=data["account_sid"],
            revision=data["revision"],
            time=data["time"],
            type=EventType(data["type"]),
            conference=Conference.from_dict(data["conference"]),
            participant=None if participant is None else Participant.from_dict(participant),
            actor=None if actor is None else Actor.from_dict(actor),
            alert=Alert.from_dict(data["alert"]) if data.get("alert") else None,
            move=None if move is None else Move(**move),
        )
