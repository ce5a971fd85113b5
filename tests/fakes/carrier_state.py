"""The fake carrier's telephone network: conferences, calls and the callbacks they cause.

Written from Twilio's Participant spec and webhook notes, not from Rollcall's
gateway; each behaviour says which Twilio document it follows (the
Participant resource and its OpenAPI spec, the Call resource's status
callback parameters, the TwiML <Conference> page, webhook security).
Calls progress on the carrier's own ManualClock by destination
(answer, busy, no-answer, failed, hangup:SECONDS); each step queues the
callbacks Twilio would send: call progress (SequenceNumber 0-based per call,
only the subscribed StatusCallbackEvent words, terminal statuses with
`completed`) and conference events (SequenceNumber per conference, only the
subscribed selection words).
"""

from __future__ import annotations

import dataclasses
import email.utils
import secrets
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from service.clock import ManualClock

TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}
# The SIP final response a SIP leg's terminal status comes with (RFC 3261's
# codes: 200 OK, 486 Busy Here, 487 Request Terminated, 480 Unavailable).
SIP_CODES = {
    "completed": "200",
    "busy": "486",
    "no-answer": "487",
    "canceled": "487",
    "failed": "480",
}
# Conference selection word -> events it subscribes to.
SELECTION = {
    "start": {"conference-start"},
    "end": {"conference-end"},
    "join": {"participant-join"},
    "leave": {"participant-leave"},
    "mute": {"participant-mute", "participant-unmute"},
    "hold": {"participant-hold", "participant-unhold"},
    "modify": {"participant-modify"},
    "announcement": {"announcement-end", "announcement-fail"},
}


def rfc2822(at: float) -> str:
    return email.utils.formatdate(at, usegmt=False).replace("-0000", "+0000")


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclasses.dataclass
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    status: str = "init"
    callback: str | None = None
    events: set[str] = dataclasses.field(default_factory=set)
    sequence: int = 0


@dataclasses.dataclass
class Call:
    sid: str
    account_sid: str
    conference_sid: str
    from_: str
    to: str
    label: str | None
    status: str = "queued"  # Twilio's call status
    participant: str = "queued"  # participant status
    callback: str | None = None
    events: set[str] = dataclasses.field(default_factory=set)
    sequence: int = 0
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    end_conference_on_exit: bool = False
    start_conference_on_enter: bool = True
    time_limit: int = 14400
    timeout: int = 60
    date: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None

    @property
    def live(self) -> bool:
        return self.status not in TERMINAL


@dataclasses.dataclass(frozen=True)
class Callback:
    url: str
    account_sid: str
    params: dict[str, str]
    token: str = dataclasses.field(default_factory=lambda: secrets.token_hex(16))


class Network:
    """Conferences and calls of every account, advanced by the carrier's clock."""

    def __init__(self, clock: ManualClock, emit: Callable[[Callback], None]) -> None:
        self.clock = clock
        self.emit = emit
        self.conferences: dict[str, Conference] = {}
        self.calls: dict[str, Call] = {}
        # To -> outcome: answer (default), answer:RING, busy, no-answer, failed, hangup:SECONDS.
        self.outcomes: dict[str, str] = {}
        self.ring_seconds = 1.0
        # Set: participant announcements fail with this ReasonAnnouncementFailed.
        self.announcement_failure: str | None = None
        # (CallSid, TwiML) of every redirect, in order.
        self.redirects: list[tuple[str, str]] = []

    # -- conferences -------------------------------------------------------------

    def conference_for(self, account_sid: str, key: str) -> Conference | None:
        if key in self.conferences:
            conf = self.conferences[key]
            return conf if conf.account_sid == account_sid else None
        for conf in self.conferences.values():
            named = conf.account_sid == account_sid and conf.friendly_name == key
            if named and conf.status != "completed":
                return conf
        return None

    def open_conference(
        self, account_sid: str, name: str, form: dict[str, list[str]]
    ) -> Conference:
        conf = self.conference_for(account_sid, name)
        if conf is None:
            conf = Conference(sid("CF"), account_sid, name)
            conf.callback = (form.get("ConferenceStatusCallback") or [""])[0] or None
            words = " ".join(form.get("ConferenceStatusCallbackEvent", ["start end"])).split()
            conf.events = set().union(*(SELECTION.get(w, set()) for w in words))
            self.conferences[conf.sid] = conf
        return conf

    # -- callbacks ------------------------------------------------------------------

    def conference_event(
        self, conf: Conference, event: str, call: Call | None, **extra: str
    ) -> None:
        """Twilio's TwiML <Conference> page ("statusCallbackEvent", "Request
        Parameters"): only subscribed events, SequenceNumber per conference,
        the participant's flags on participant events."""
        if conf.callback is None or event not in conf.events:
            return
        conf.sequence += 1
        params = {
            "AccountSid": conf.account_sid,
            "ConferenceSid": conf.sid,
            "FriendlyName": conf.friendly_name,
            "SequenceNumber": str(conf.sequence),
            "Timestamp": rfc2822(self.clock.now()),
            "StatusCallbackEvent": event,
        }
        if call is not None:
            params.update(
                CallSid=call.sid,
                Muted=_b(call.muted),
                Hold=_b(call.hold),
                Coaching=_b(call.coaching),
                EndConferenceOnExit=_b(call.end_conference_on_exit),
                StartConferenceOnEnter=_b(call.start_conference_on_enter),
            )
            if call.label:
                params["ParticipantLabel"] = call.label
        params.update(extra)
        self.emit(Callback(conf.callback, conf.account_sid, params))

    def call_event(self, call: Call, status: str) -> None:
        """Twilio's Call resource, status callbacks: only the subscribed
        StatusCallbackEvent words, SequenceNumber 0-based per call, the
        standard voice parameters, CallbackSource call-progress-events."""
        call.status = status
        word = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}.get(
            status, "completed"
        )
        if call.callback is None or word not in call.events:
            return
        params = {
            "AccountSid": call.account_sid,
            "CallSid": call.sid,
            "From": call.from_,
            "To": call.to,
            "CallStatus": status,
            "ApiVersion": "2010-04-01",
            "Direction": "outbound-api",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.sequence),
            "Timestamp": rfc2822(self.clock.now()),
        }
        call.sequence += 1
        if status in TERMINAL:
            # Twilio's Call resource, status callback parameters: the
            # completed event carries CallDuration (seconds) and Duration
            # (whole minutes, rounded up); terminal events of a SIP leg carry
            # SipResponseCode.
            seconds = 0
            if call.answered_at is not None:
                seconds = int(self.clock.now() - call.answered_at)
            params["CallDuration"] = str(seconds)
            params["Duration"] = str(-(-seconds // 60))
            if call.to.startswith("sip:"):
                params["SipResponseCode"] = SIP_CODES[status]
        self.emit(Callback(call.callback, call.account_sid, params))

    # -- calls ----------------------------------------------------------------------

    def place(self, call: Call) -> None:
        self.calls[call.sid] = call
        outcome, _, arg = self.outcomes.get(call.to, "answer").partition(":")

        def step(delay: float, action: Callable[[], None]) -> None:
            def fire() -> None:
                if call.live:
                    action()

            self.clock.call_later(delay, fire)

        def start() -> None:
            self.call_event(call, "initiated")
            if outcome in ("busy", "failed"):
                self.end(call, outcome, "participant_add_failed")
                return
            self.call_event(call, "ringing")
            call.participant = "ringing"

        step(0.0, start)
        ring = float(arg) if outcome == "answer" and arg else self.ring_seconds
        if outcome == "no-answer" or ring >= call.timeout:
            step(float(call.timeout), lambda: self.end(call, "no-answer", "participant_add_failed"))
            return
        if outcome in ("busy", "failed"):
            return
        step(ring, lambda: self.answer(call))
        talk = float(arg) if outcome == "hangup" else float(call.time_limit)
        step(ring + min(talk, float(call.time_limit)), lambda: self.hang_up(call))

    def answer(self, call: Call, *, joining: bool = False) -> None:
        """The call is answered (or, joining: already up, it joins a conference)."""
        if not joining:
            call.answered_at = self.clock.now()
            call.participant = "connected"
            self.call_event(call, "in-progress")
        conf = self.conferences[call.conference_sid]
        self.conference_event(conf, "participant-join", call)
        connected = [c for c in self.live_calls(conf) if c.participant == "connected"]
        start = any(c.start_conference_on_enter for c in connected)
        if conf.status == "init" and len(connected) >= 2 and start:
            conf.status = "in-progress"
            self.conference_event(conf, "conference-start", None)

    def redirect(self, call: Call, twiml: str) -> None:
        """A Calls update with TwiML: only <Dial><Conference> is understood.
        The call leaves its conference (a leave there, which ends it when it
        was the call's endConferenceOnExit or its last call) and joins the
        named one (opened as a Create would), with the attributes given."""
        root = ElementTree.fromstring(twiml)  # noqa: S314 (the adapter's own TwiML, in a test)
        node = root.find("./Dial/Conference")
        if root.tag != "Response" or node is None or not (node.text or "").strip():
            raise ValueError("expected <Response><Dial><Conference>NAME")
        old = self.conferences[call.conference_sid]
        self.conference_event(old, "participant-leave", call, ReasonParticipantLeft="redirected")
        others = [c for c in self.live_calls(old) if c is not call]
        if call.end_conference_on_exit:
            call.conference_sid = ""  # out of it first: the redirected call survives
            self.end_conference(old, "participant-with-end-conference-on-exit-left", call)
        elif not others and old.status != "completed":
            self.end_conference(old, "last-participant-left", call)
        form = {
            "ConferenceStatusCallback": [node.get("statusCallback", "")],
            "ConferenceStatusCallbackEvent": [node.get("statusCallbackEvent", "start end")],
        }
        conf = self.open_conference(call.account_sid, (node.text or "").strip(), form)
        call.conference_sid = conf.sid
        call.muted = node.get("muted", "false") == "true"
        call.hold = False
        call.coaching = node.get("coach") is not None
        call.call_sid_to_coach = node.get("coach")
        call.end_conference_on_exit = node.get("endConferenceOnExit", "false") == "true"
        self.redirects.append((call.sid, twiml))
        self.answer(call, joining=True)

    def hang_up(self, call: Call) -> None:
        """The callee hangs up (or the time limit ends the call)."""
        self.end(call, "completed", "participant_hung_up")

    def hearing(self, conference_sid: str) -> dict[str, tuple[str, ...]]:
        """Who hears whom, by Twilio's participant fields: a connected call on
        hold hears and is heard by no one, a muted one is heard by no one, and
        "the participant being coached is the only participant who can hear
        the participant who is coaching"."""
        conf = self.conferences[conference_sid]
        present = sorted(
            (c for c in self.live_calls(conf) if c.participant == "connected"), key=lambda c: c.sid
        )

        def hears(listener: Call, speaker: Call) -> bool:
            if listener is speaker or listener.hold or speaker.hold or speaker.muted:
                return False
            return not speaker.coaching or speaker.call_sid_to_coach == listener.sid

        return {c.sid: tuple(s.sid for s in present if hears(c, s)) for c in present}

    def live_calls(self, conf: Conference) -> list[Call]:
        return [c for c in self.calls.values() if c.conference_sid == conf.sid and c.live]

    def end(self, call: Call, status: str, reason: str, *, ending_conference: bool = False) -> None:
        """A call leaves. The <Conference> page: participant-leave carries
        ParticipantCallStatus and ReasonParticipantLeft; when a participant
        with endConferenceOnExit leaves, "the conference ends and all other
        participants drop out" (the carrier ends their calls itself); when
        the last one leaves, the conference ends."""
        if not call.live:
            return
        was_connected = call.participant == "connected"
        if status == "completed" and not was_connected:
            status = "canceled"
        call.ended_at = self.clock.now()
        call.participant = "complete" if was_connected else "failed"
        self.call_event(call, status)
        conf = self.conferences[call.conference_sid]
        self.conference_event(
            conf,
            "participant-leave",
            call,
            ParticipantCallStatus=status,
            ReasonParticipantLeft=reason,
        )
        if ending_conference or conf.status == "completed":
            return
        kicked = reason == "participant_updated_via_api"
        if call.end_conference_on_exit and was_connected:
            why = "participant-with-end-conference-on-exit-" + ("kicked" if kicked else "left")
            self.end_conference(conf, why, ending=call)
        elif not self.live_calls(conf):
            why = "last-participant-" + ("kicked" if kicked else "left")
            self.end_conference(conf, why, ending=call)

    def end_conference(self, conf: Conference, why: str, ending: Call | None = None) -> None:
        reason = "conference_ended_via_api" if ending is None else "moderator_ended_conference"
        for other in self.live_calls(conf):
            self.end(other, "completed", reason, ending_conference=True)
        conf.status = "completed"
        extra = {"ReasonConferenceEnded": why, "Reason": why}
        if ending is not None:
            extra["CallSidEndingConference"] = ending.sid
            if ending.label:
                extra["ParticipantLabelEndingConference"] = ending.label
        self.conference_event(conf, "conference-end", None, **extra)

    def update(self, call: Call, form: dict[str, list[str]]) -> None:
        """An Update Participant (the Participant resource's fields), and the
        conference events it causes (the <Conference> page: mute, hold, modify,
        announcement)."""
        conf = self.conferences[call.conference_sid]
        emit = self.conference_event
        if "Muted" in form and (form["Muted"][0] == "true") != call.muted:
            call.muted = not call.muted
            emit(conf, "participant-mute" if call.muted else "participant-unmute", call)
        if "Hold" in form and (form["Hold"][0] == "true") != call.hold:
            call.hold = not call.hold
            emit(conf, "participant-hold" if call.hold else "participant-unhold", call)
        modified = False
        if "Coaching" in form or "CallSidToCoach" in form:
            call.coaching = form.get("Coaching", ["true"])[0] == "true"
            call.call_sid_to_coach = (
                form.get("CallSidToCoach", [None])[0] if call.coaching else None
            )
            modified = True
        # Twilio's users report (and the Participant resource does not say
        # otherwise) that EndConferenceOnExit sent for a held participant is
        # accepted and ignored unless Hold comes in the same request.
        ignored = call.hold and "Hold" not in form
        if "EndConferenceOnExit" in form and not ignored:
            call.end_conference_on_exit = form["EndConferenceOnExit"][0] == "true"
            modified = True
        if "BeepOnExit" in form or "WaitUrl" in form:
            modified = True
        if modified:
            emit(conf, "participant-modify", call)
        if form.get("AnnounceUrl", [""])[0]:
            url = form["AnnounceUrl"][0]
            failure = self.announcement_failure
            if failure is None:
                emit(conf, "announcement-end", call, AnnounceUrl=url)
            else:
                # The TwiML <Conference> page: announcement-fail, with
                # ReasonAnnouncementFailed, is sent only on Twilio's internal errors.
                fail = {"AnnounceUrl": url, "ReasonAnnouncementFailed": failure}
                emit(conf, "announcement-fail", call, **fail)


def _b(value: bool) -> str:
    return "true" if value else "false"


def participant_json(call: Call, now: float) -> dict[str, Any]:
    return {
        "account_sid": call.account_sid,
        "call_sid": call.sid,
        "label": call.label,
        "conference_sid": call.conference_sid,
        "date_created": rfc2822(call.date),
        "date_updated": rfc2822(now),
        "end_conference_on_exit": call.end_conference_on_exit,
        "muted": call.muted,
        "hold": call.hold,
        "status": call.participant,
        "start_conference_on_enter": call.start_conference_on_enter,
        "coaching": call.coaching,
        "call_sid_to_coach": call.call_sid_to_coach,
        "queue_time": None,
        "uri": (
            f"/2010-04-01/Accounts/{call.account_sid}/Conferences/{call.conference_sid}"
            f"/Participants/{call.sid}.json"
        ),
    }


def call_json(call: Call) -> dict[str, Any]:
    duration = None
    if call.answered_at is not None and call.ended_at is not None:
        duration = str(int(call.ended_at - call.answered_at))
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "status": call.status
        if call.status in TERMINAL or call.status != "initiated"
        else "queued",
        "start_time": None if call.answered_at is None else rfc2822(call.answered_at),
        "end_time": None if call.ended_at is None else rfc2822(call.ended_at),
        "duration": duration,
        "answered_by": None,
    }
