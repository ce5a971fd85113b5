"""A participant's and a conference's statuses, roles and reasons, in Twilio's words.

Rule 1: values use Twilio's own words (participant status `connected`, call
        status `no-answer`, end reason `last-participant-left`), so a stored row,
        an event and a Twilio-format callback never need a lookup table to agree;
        the faces map them to the API's enums by the same words (clients.words).
Rule 2: the core knows no proto names: these are plain StrEnums.
"""

from __future__ import annotations

import enum


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
