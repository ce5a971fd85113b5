"""TwilioCarrier: the carrier port over a Twilio-compatible Participants API.

Rule 1: it decides which upstream account and conference a call goes to: one
        carrier conference per Rollcall conference, named after it.
Rule 2: a call is placed without ever dialing twice: each call gets a label derived
        from the PlaceCall key before it is dialed; after an ambiguous failure
        (timeout, 5xx, dropped answer) the call is looked up by that label before it
        is dialed again, so a key never places two calls.
Rule 3: Create is paced per upstream account.
Rule 4: everything is bounded by TwilioOptions.unavailable_after_seconds and ends in
        a typed error; a 404 (or Twilio's "call not in progress" and "conference
        completed") on a participant the core asked to change (or must kick) is the
        call having left (errors.call_gone), never a success.
Rule 5: effects are carried upstream; Update sends the combination of fields that
        takes effect at Twilio (forms.update_form), never one Twilio accepts and
        ignores.
Rule 6: after a restart, it reads its calls back (reconcile).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from service.carriers.twilio import errors, forms, metrics
from service.carriers.twilio.config import TwilioOptions, UpstreamAccount
from service.carriers.twilio.http import Ambiguous, Answer, TwilioHttp
from service.carriers.twilio.pacing import Pacer, Sleep, clock_sleep
from service.clock import Clock
from service.core import errors as core_errors
from service.core.errors import RollcallError
from service.core.ports.carrier import (
    AnnounceConference,
    CallReport,
    CallTarget,
    ConferenceTarget,
    Effect,
    EndConference,
    Kick,
    MoveCall,
    OpenCall,
    PlaceCall,
    Placed,
    Update,
)
from service.core.statuses import CallStatus, ConferenceStatus

log = logging.getLogger("rollcall.carrier")


def _seg(text: str) -> str:
    return quote(text, safe="")


class TwilioCarrier:
    in_process = False  # see the port
    reports_announcements = True  # Twilio posts announcement-end
    ends_conference_calls = True  # end-on-exit drops the others at Twilio
    whisper_limit: int | None = 1  # Twilio coaches one call (CallSidToCoach)

    def __init__(
        self,
        accounts: Mapping[str, UpstreamAccount],
        callbacks: forms.CallbackUrls,
        clock: Clock,
        options: TwilioOptions | None = None,
        *,
        sleep: Sleep | None = None,
        http: TwilioHttp | None = None,
    ) -> None:
        self.options = options or TwilioOptions()
        self._accounts = dict(accounts)
        # Where the carrier sends its callbacks; may be set until the first place().
        self.callbacks = callbacks
        self._clock = clock
        self._sleep = sleep or clock_sleep(clock)
        self._http = http or TwilioHttp(self.options, clock, self._sleep)
        self._pacer = Pacer(clock, self.options.calls_per_second)

    # -- the carrier port ----------------------------------------------------

    def check(self, account_sid: str, from_endpoint: str, to_endpoint: str) -> None:
        self._account(account_sid)

    async def place(self, call: PlaceCall) -> Placed:
        account = self._account(call.account_sid)
        deadline = self._deadline()
        path = f"Conferences/{_seg(forms.conference_name(call.conference))}/Participants.json"
        form = forms.create_form(call, self.callbacks)
        attempts = 0
        while True:
            attempts += 1
            # A call is placed within the bound or not at all: never after a
            # pacing wait that outlasts it (a placement's age bound relies on it).
            wait = self._pacer.reserve(account.account_sid, deadline - self._clock.now())
            if wait is None:
                raise errors.carrier_paced(self.options.calls_per_second)
            await self._sleep(wait)
            failure: str
            try:
                answer = await self._http.send(account, "POST", path, form, deadline=deadline)
            except Ambiguous as exc:
                failure = str(exc)
            else:
                if answer.ok:
                    placed = forms.placed_from(answer.body)
                    if placed is None:
                        raise errors.carrier_unavailable("Create answered without call_sid")
                    return placed
                if _label_in_use(answer):
                    # Our label is taken: this key was placed before (a retry, a restart).
                    label = forms.label_for(call.key)
                    again = await self._find(account, call.conference, label, deadline)
                    if again is not None:
                        return again[0]
                if answer.status < 500:
                    raise errors.from_carrier(answer.status, answer.body)
                failure = f"HTTP {answer.status}"
            # Ambiguous: the carrier may have placed the call. Look before dialing again.
            try:
                found = await self._find(
                    account, call.conference, forms.label_for(call.key), deadline
                )
            except RollcallError as exc:
                # Whether the call exists is unknown: never a definite refusal.
                raise errors.carrier_unavailable(f"{failure}, then lookup {exc.reason}") from None
            metrics.LOOKUPS.labels("yes" if found is not None else "no").inc()
            if found is not None:
                log.info("placed call found by its label after %s", failure)
                return found[0]
            if attempts >= self.options.max_place_attempts or self._clock.now() >= deadline:
                raise errors.carrier_unavailable(failure)

    async def apply(self, effect: Effect) -> None:
        match effect:
            case Update(target=target, changes=changes, held=held):
                form = forms.update_form(changes, held=held)
                if form:
                    await self._expect(
                        target.account_sid, "POST", _participant(target), form, gone=target
                    )
            case Kick(target=target, must_exist=must_exist):
                await self._expect(
                    target.account_sid,
                    "DELETE",
                    _participant(target),
                    None,
                    gone_ok=not must_exist,
                    gone=target,
                )
            case MoveCall(target=target) as move:
                if move.hold:
                    raise errors.carrier_cannot("hold a call it moves into a conference")
                if move.leaving_ends:  # leaving is no exit: the source must not end
                    form = [("EndConferenceOnExit", "false")]
                    await self._expect(target.account_sid, "POST", _participant(target), form)
                twiml = forms.move_twiml(move, self.callbacks)
                await self._expect(target.account_sid, "POST", _call(target), [("Twiml", twiml)])
            case EndConference(conference=conference):
                await self._expect(
                    conference.account_sid,
                    "POST",
                    _conference(conference),
                    [("Status", ConferenceStatus.COMPLETED.value)],
                    gone_ok=True,
                )
            case AnnounceConference(conference=conference, url=url, method=method):
                await self._expect(
                    conference.account_sid,
                    "POST",
                    _conference(conference),
                    forms.announce_form(url, method),
                )

    async def reconcile(self, open_calls: Sequence[OpenCall]) -> list[CallReport]:
        reports: list[CallReport] = []
        for call in open_calls:
            try:
                reports.append(await self._reconcile_one(call))
            except RollcallError as exc:
                # Unknown stays unknown: no report is better than a guess.
                log.warning("could not reconcile a call: %s", exc.reason)
        return reports

    async def close(self) -> None:
        await self._http.close()

    # -- internals -------------------------------------------------------------

    def _account(self, account_sid: str) -> UpstreamAccount:
        account = self._accounts.get(account_sid)
        if account is None:
            raise errors.carrier_not_configured(account_sid)
        return account

    def _deadline(self) -> float:
        return self._clock.now() + self.options.unavailable_after_seconds

    async def _send(
        self,
        account: UpstreamAccount,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None,
        deadline: float,
        query: list[tuple[str, str]] | None = None,
    ) -> Answer:
        try:
            return await self._http.send(
                account, method, path, form, deadline=deadline, query=query
            )
        except Ambiguous as exc:
            raise errors.carrier_unavailable(str(exc)) from None

    async def _expect(
        self,
        account_sid: str,
        method: str,
        path: str,
        form: list[tuple[str, str]] | None,
        *,
        gone_ok: bool = False,
        gone: CallTarget | None = None,
    ) -> None:
        """Send and expect success; a 404 is success with gone_ok, else, for
        a request about a call (`gone`), the call has left (core_errors.call_gone)."""
        account = self._account(account_sid)
        answer = await self._send(account, method, path, form, self._deadline())
        if answer.ok or (gone_ok and answer.status == 404):
            return
        if gone is not None and _gone(answer):
            raise core_errors.call_gone(gone.call_sid)
        raise errors.from_carrier(answer.status, answer.body)

    async def _find(
        self, account: UpstreamAccount, conference: str, label: str, deadline: float
    ) -> tuple[Placed, CallStatus] | None:
        """The live call labelled `label` in the conference's carrier conference, if any."""
        answer = await self._send(
            account,
            "GET",
            "Conferences.json",
            None,
            deadline,
            query=[("FriendlyName", forms.conference_name(conference))],
        )
        if not answer.ok:
            raise errors.from_carrier(answer.status, answer.body)
        listed = answer.body.get("conferences") if isinstance(answer.body, dict) else None
        for conf in listed if isinstance(listed, list) else []:
            sid = conf.get("sid") if isinstance(conf, dict) else None
            if not isinstance(sid, str) or conf.get("status") == ConferenceStatus.COMPLETED:
                continue
            path = f"Conferences/{_seg(sid)}/Participants/{_seg(label)}.json"
            found = await self._send(account, "GET", path, None, deadline)
            if found.status == 404:
                continue
            if not found.ok:
                raise errors.from_carrier(found.status, found.body)
            placed = forms.placed_from(found.body)
            if placed is not None:
                return placed, forms.participant_call_status(found.body)
        return None

    async def _reconcile_participant(
        self, account: UpstreamAccount, call: OpenCall, deadline: float
    ) -> CallReport:
        """No Call resource for it (a carrier that serves only the Participants
        API has none): the participant in its carrier conference says."""
        assert call.call_sid is not None
        now = self._clock.now()
        where = CallTarget(call.account_sid, call.conference_sid or "", call.call_sid)
        found = await self._send(account, "GET", _participant(where), None, deadline)
        if found.ok:
            return CallReport(
                call.call_sid,
                forms.participant_call_status(found.body),
                now,
                account_sid=call.account_sid,
                key=call.key,
                conference_sid=call.conference_sid,
            )
        if found.status != 404:
            raise errors.from_carrier(found.status, found.body)
        # Gone: over, after its answer (completed: the callee's hang-up went
        # unheard), else it never connected.
        gone = CallStatus.COMPLETED if call.answered_at is not None else CallStatus.FAILED
        return CallReport(call.call_sid, gone, now, account_sid=call.account_sid, key=call.key)

    async def _reconcile_one(self, call: OpenCall) -> CallReport:
        account = self._account(call.account_sid)
        deadline = self._deadline()
        now = self._clock.now()
        if call.call_sid is None:
            found = await self._find(account, call.conference, forms.label_for(call.key), deadline)
            if found is None:
                # Never placed, or ended before anyone heard: it is not a live call.
                return CallReport(
                    "", CallStatus.FAILED, now, account_sid=call.account_sid, key=call.key
                )
            placed, status = found
            return CallReport(
                placed.call_sid,
                status,
                now,
                account_sid=call.account_sid,
                key=call.key,
                conference_sid=placed.conference_sid,
            )
        answer = await self._send(
            account, "GET", f"Calls/{_seg(call.call_sid)}.json", None, deadline
        )
        if answer.status == 404:
            return await self._reconcile_participant(account, call, deadline)
        if not answer.ok or not isinstance(answer.body, dict):
            raise errors.from_carrier(answer.status, answer.body)
        body = answer.body
        try:
            status = CallStatus(str(body.get("status")))
        except ValueError:
            raise errors.carrier_unavailable("unknown call status") from None
        ended = forms.rfc2822(body.get("end_time"))
        duration = body.get("duration")
        return CallReport(
            call.call_sid,
            status,
            ended if ended is not None and status.terminal else now,
            account_sid=call.account_sid,
            answered_by=body.get("answered_by")
            if isinstance(body.get("answered_by"), str)
            else None,
            duration_seconds=int(duration)
            if isinstance(duration, str) and duration.isdigit()
            else None,
            key=call.key,
            conference_sid=call.conference_sid,
        )


def _participant(target: CallTarget) -> str:
    return f"Conferences/{_seg(target.conference_sid)}/Participants/{_seg(target.call_sid)}.json"


def _call(target: CallTarget) -> str:
    return f"Calls/{_seg(target.call_sid)}.json"


def _conference(target: ConferenceTarget) -> str:
    return f"Conferences/{_seg(target.conference_sid)}.json"


# Twilio's answers that a participant's call is no longer in its conference,
# besides 404: its call is no longer in progress (21220), its conference is
# over (16022).
_GONE_CODES = frozenset({21220, 16022})


def _gone(answer: Answer) -> bool:
    code = answer.body.get("code") if isinstance(answer.body, dict) else None
    return answer.status == 404 or (answer.status == 400 and code in _GONE_CODES)


def _label_in_use(answer: Answer) -> bool:
    return (
        answer.status == 400 and isinstance(answer.body, dict) and answer.body.get("code") == 16026
    )
