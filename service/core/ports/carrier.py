"""The carrier port: how the core places calls, changes them and hears back.

Rule 1: every carrier adapter (the simulator, a Twilio-compatible carrier) fits one
        shape, typing.Protocols and frozen value types: a call to place and the
        carrier's answer, the effects a participant change has on the media side,
        the reports a carrier sends back and the sink they go to.
Rule 2: placing a call is asynchronous and returns the carrier's own identity for it
        (its CallSid and conference SID), or raises a typed RollcallError carrying
        the carrier's Twilio code.
Rule 3: every effect is carried out before apply() returns, or it raises the same
        way and has changed nothing; a remote carrier's answer that the call has
        left the conference (an Update, or a Kick that must_exist) raises
        errors.call_gone().
Rule 4: reports carry the carrier's own ordering (SequenceNumber) and words
        (Twilio's call statuses, service.core.statuses.CallStatus, and conference
        events), never Rollcall's.
Rule 5: an adapter never touches the store.
Rule 6: what a call did while it was placed (dialing began, it rang: dialing
        statuses only) may come back with Placed, as its `progress`, numbered
        before any report of that call; the sink never hears those statuses
        again, and the core records them in the Create's own transaction. An
        adapter that knows nothing more at dial time returns none.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from service.core.statuses import CallStatus, Role

# -- placing a call -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PlaceCall:
    """One outbound call into a conference at the carrier.

    key: Rollcall's own identity for the call, chosen and stored before the
    call is placed (it survives a restart). An adapter derives from it the
    label it asks the carrier for, so a call whose placing ended ambiguously
    (timeout, 5xx, restart) is found again instead of dialed twice.
    conference: Rollcall's conference SID; the adapter names the carrier's
    conference after it, so one carrier conference per Rollcall conference.
    """

    account_sid: str
    key: str
    conference: str
    from_endpoint: str
    to_endpoint: str
    timeout_seconds: int = 60
    time_limit_seconds: int = 14400
    muted: bool = False
    hold: bool = False
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    beep: str = "true"
    coaching: bool = False
    call_sid_to_coach: str | None = None
    # The supervisor role (coaching / call_sid_to_coach are its Twilio view).
    role: Role = Role.NONE
    whisper_targets: tuple[str, ...] = ()
    wait_url: str | None = None
    wait_method: str = "POST"
    early_media: bool = True
    max_participants: int = 250
    # Every other Create parameter as sent (record, machine_detection, region,
    # conference_record...: the settings bags, values in Twilio's words), for
    # an adapter that passes them on; it drops those it sets itself (from, to,
    # label, the callbacks and their events).
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Placed:
    """The carrier's identity for a placed call."""

    call_sid: str
    # The carrier's SID for the conference the call joins (effects name it).
    conference_sid: str
    # Milliseconds the carrier queued the call for, when it says.
    queue_time_ms: float | None = None
    # The dialing statuses the call took while it was placed (Rule 6): one
    # report, as the sink would have had it; None when the carrier says none.
    progress: CallReport | None = None


# -- effects --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CallTarget:
    """A placed call, by the carrier's identities (from Placed)."""

    account_sid: str
    conference_sid: str
    call_sid: str


@dataclasses.dataclass(frozen=True)
class ConferenceTarget:
    account_sid: str
    conference_sid: str


@dataclasses.dataclass(frozen=True)
class Mute:
    muted: bool


@dataclasses.dataclass(frozen=True)
class Hold:
    hold: bool
    hold_url: str | None = None
    hold_method: str | None = None


@dataclasses.dataclass(frozen=True)
class Announce:
    url: str
    method: str | None = None


@dataclasses.dataclass(frozen=True)
class Coach:
    coaching: bool
    call_sid_to_coach: str | None = None


@dataclasses.dataclass(frozen=True)
class SetRole:
    """The participant's supervisor role and the mute it implies, together
    (a monitor is muted; a whisper is heard by its targets only)."""

    role: Role
    whisper_targets: tuple[str, ...] = ()
    muted: bool = False


@dataclasses.dataclass(frozen=True)
class BeepOnExit:
    beep: bool


@dataclasses.dataclass(frozen=True)
class EndConferenceOnExit:
    end: bool


@dataclasses.dataclass(frozen=True)
class Wait:
    url: str | None
    method: str | None = None


ParticipantChange = (
    Mute | Hold | Announce | Coach | SetRole | BeepOnExit | EndConferenceOnExit | Wait
)


@dataclasses.dataclass(frozen=True)
class Update:
    """Changes to one call, carried out together (one request at a carrier)."""

    target: CallTarget
    changes: tuple[ParticipantChange, ...]
    # The call was on hold before these changes: some changes take effect on
    # a held call only when sent with Hold (an adapter adds what it needs).
    held: bool = False


@dataclasses.dataclass(frozen=True)
class Kick:
    """Remove the call from its conference; the call ends.

    must_exist: a Delete asks for it; a call the carrier no longer has raises
    errors.call_gone() instead of counting as done (a hangup after a commit
    or a clean-up leaves it False: a call already gone is what it wanted).
    """

    target: CallTarget
    must_exist: bool = False


@dataclasses.dataclass(frozen=True)
class MoveCall:
    """Take the call out of its conference into `conference`'s carrier
    conference (named after that Rollcall conference SID, as PlaceCall's is),
    with these settings there. The call does not end: the carrier's leave
    and join reports for it follow. Leaving is no exit: the conference it
    leaves does not end for its endConferenceOnExit."""

    target: CallTarget
    conference: str
    muted: bool = False
    hold: bool = False
    role: Role = Role.NONE
    whisper_targets: tuple[str, ...] = ()
    # The call had endConferenceOnExit where it was (an adapter clears it
    # first, where leaving would otherwise end that conference).
    leaving_ends: bool = False


@dataclasses.dataclass(frozen=True)
class EndConference:
    """End the conference; every call still in it ends."""

    conference: ConferenceTarget


@dataclasses.dataclass(frozen=True)
class AnnounceConference:
    """Play an announcement to everyone in the conference (Twilio: AnnounceUrl
    on the Conference); its end is a conference-wide report (no CallSid)."""

    conference: ConferenceTarget
    url: str
    method: str | None = None


Effect = Update | Kick | MoveCall | EndConference | AnnounceConference


# -- reports --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CallReport:
    """A step of one call's progress, in the carrier's words.

    sequence_number: the carrier's order for this call's reports (Twilio:
    0-based per call); None when the report was read back by reconcile().
    passed: statuses the call went through at the same instant just before
    `status`, in order (a carrier that reports steps together, as the
    simulator does when dialing starts and rings at once; each counts as a
    report, numbered just before this one); one change takes them all.
    key / conference_sid: set by reconcile() (the PlaceCall.key the report
    answers, the carrier conference it is in); call_sid is "" when the carrier
    has no live call for that key.
    """

    call_sid: str
    status: CallStatus
    timestamp: float
    sequence_number: int | None = None
    account_sid: str = ""
    answered_by: str | None = None
    duration_seconds: int | None = None
    # Twilio's Duration with a completed call (as the carrier sent it).
    duration: int | None = None
    sip_response_code: int | None = None
    key: str | None = None
    conference_sid: str | None = None
    passed: tuple[CallStatus, ...] = ()


class ConferenceEvent(enum.StrEnum):
    """Twilio's conference StatusCallbackEvent values."""

    CONFERENCE_START = "conference-start"
    CONFERENCE_END = "conference-end"
    PARTICIPANT_JOIN = "participant-join"
    PARTICIPANT_LEAVE = "participant-leave"
    PARTICIPANT_MUTE = "participant-mute"
    PARTICIPANT_UNMUTE = "participant-unmute"
    PARTICIPANT_HOLD = "participant-hold"
    PARTICIPANT_UNHOLD = "participant-unhold"
    PARTICIPANT_MODIFY = "participant-modify"
    PARTICIPANT_SPEECH_START = "participant-speech-start"
    PARTICIPANT_SPEECH_STOP = "participant-speech-stop"
    ANNOUNCEMENT_END = "announcement-end"
    ANNOUNCEMENT_FAIL = "announcement-fail"


@dataclasses.dataclass(frozen=True)
class ConferenceReport:
    """A conference event, in the carrier's words.

    sequence_number: the carrier's order within the conference. The
    participant fields are those the carrier sends with participant events;
    ended_by / end_reason come with conference-end, leave_reason and
    participant_call_status with participant-leave. rollcall_conference: the
    Rollcall conference SID the carrier conference was named after (read from
    friendly_name by the adapter's side; None when it is not one of Rollcall's),
    how a conference-wide event (no call_sid) finds its conference.
    """

    event: ConferenceEvent
    conference_sid: str
    sequence_number: int
    timestamp: float
    account_sid: str = ""
    friendly_name: str = ""
    call_sid: str | None = None
    label: str | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    end_conference_on_exit: bool | None = None
    start_conference_on_enter: bool | None = None
    leave_reason: str | None = None
    participant_call_status: CallStatus | None = None
    end_reason: str | None = None
    ended_by_call_sid: str | None = None
    ended_by_label: str | None = None
    announce_url: str | None = None
    announcement_failure: str | None = None
    rollcall_conference: str | None = None


Report = CallReport | ConferenceReport

# The core's side of the reports: awaited one at a time per call, in the
# order they arrive (which may differ from SequenceNumber order).
ReportSink = Callable[[Report], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class OpenCall:
    """A call Rollcall still holds open, handed to reconcile() after a restart.

    call_sid / conference_sid are None when the process stopped before the
    carrier's answer to PlaceCall was stored; the adapter then looks the call
    up by `key`. answered_at is Rollcall's record of when it was answered;
    last_sequence_number the highest call SequenceNumber it has applied (an
    adapter that numbers reports itself continues after it).
    """

    account_sid: str
    key: str
    conference: str
    call_sid: str | None
    conference_sid: str | None
    to_endpoint: str
    time_limit_seconds: int
    answered_at: float | None = None
    last_sequence_number: int | None = None


class Carrier(Protocol):
    # True when place() and apply() do no I/O and never wait (an in-process
    # simulator): the core then carries a change's effects out inside the
    # change's own write transaction. False (a remote carrier): the core never
    # holds a write transaction open while the carrier answers. An in-process
    # carrier also reports each call's steps in order and once, so the core
    # keeps no SequenceNumbers for its reports.
    in_process: bool
    # True when the carrier reports an announcement's end (a ConferenceReport
    # ANNOUNCEMENT_END): the core then emits ANNOUNCEMENT_ENDED only from that
    # report (for a conference-wide announcement, one without a CallSid). False
    # (the simulator): the core emits it as soon as it asks.
    reports_announcements: bool
    # True when the carrier itself ends the other calls of a conference an
    # endConferenceOnExit participant leaves or is kicked from (Twilio: "the
    # conference ends and all other participants drop out"): the core then
    # sends nothing for those calls and the carrier's reports of them find
    # them already ended. False (the simulator): the core hangs them up.
    ends_conference_calls: bool
    # The most whisper targets one participant may have at this carrier
    # (None: no limit). The core refuses more before anything changes.
    whisper_limit: int | None

    def check(self, account_sid: str, from_endpoint: str, to_endpoint: str) -> None:
        """Refuse a call synchronously, before anything is stored (may do nothing).

        Raises RollcallError (dial_rejected) with Twilio's code.
        """
        ...

    async def place(self, call: PlaceCall) -> Placed:
        """Place the call; its reports arrive later through the sink.

        Raises RollcallError: the carrier's refusal with its Twilio code, or
        UNAVAILABLE (CARRIER_UNAVAILABLE) when the carrier cannot be reached
        within the adapter's bound. Placing the same key twice never dials twice.
        """
        ...

    async def apply(self, effect: Effect) -> None:
        """Carry the effect out at the carrier, or raise and change nothing."""
        ...

    async def reconcile(self, open_calls: Sequence[OpenCall]) -> list[CallReport]:
        """After a restart: the reports that bring these calls up to date.

        Each report carries the OpenCall's key. A call the adapter keeps
        running needs no report.
        """
        ...

    async def close(self) -> None: ...
