"""Carrier reports: each becomes a change like any other.

Rule 1: a report is applied in one write transaction together with its
        idempotency token (a callback retried, here or on another replica,
        changes nothing the second time) and its SequenceNumber (an older
        report after a newer one changes nothing); an in-process carrier's
        own reports come in order and once, and need neither.
Rule 2: a report for a call whose Create is between placing and recording
        waits for it, then reads again: the Creates in flight are noted
        before the read, so a read that races the Create's commit (it may
        answer after the Create has finished) still waits; a report about
        another tenant's call, or a call Rollcall does not know, changes
        nothing.
Rule 3: a conference event from a carrier conference other than the one the
        call is recorded in is about a call that moved (service.core.move):
        the join into the conference it moved to names that carrier
        conference for it; anything else from elsewhere (the leave from the
        one it left, that conference's end) changes nothing.
Rule 4: call progress goes through the conference rules, a participant-leave
        with the carrier's reason; conference events Rollcall did not cause
        are emitted like any other change; conference-wide reports (no
        CallSid) are conference_reports'.
Rule 5: a report acts as the carrier (service.core.actors), unless the
        caller says otherwise (recovery acts as Rollcall's recovery rule); a
        carrier callback keeps the addresses its face saw.
Rule 6: speech reports do not go through here one by one: they are noted
        and published coalesced (service.core.speech).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from service.core import actors, carrier_reports, conference_reports, rules, speech
from service.core.changes import Changes
from service.core.events import EventType
from service.core.ports.carrier import (
    CallReport,
    ConferenceEvent,
    ConferenceReport,
    Report,
)
from service.core.ports.store import WriteTransaction
from service.core.records import Conference, Participant
from service.core.runtime import Change, Decided, Runtime
from service.core.statuses import CallStatus, LeaveReason

log = logging.getLogger("rollcall.core")


class Reports:
    def __init__(
        self, runtime: Runtime, speaking_interval: float = speech.DEFAULT_INTERVAL
    ) -> None:
        self.runtime = runtime
        self.speech = speech.Speech(runtime, speaking_interval)

    async def on_report(
        self, report: Report, token: str | None = None, accounts: frozenset[str] | None = None
    ) -> None:
        """Apply a carrier report; `accounts`: the Rollcall accounts it may
        touch (None: any). Speech reports are coalesced (Rule 6)."""
        if isinstance(report, ConferenceReport) and report.event in speech.SPEECH:
            await self.speech.note(report, accounts)
            return
        await apply(self.runtime, report, token, accounts)


async def apply(
    runtime: Runtime,
    report: Report,
    token: str | None = None,
    accounts: frozenset[str] | None = None,
    *,
    by: actors.Actor | None = None,
) -> None:
    """Apply one report (the module's rules), tracked as a change: reports
    come from carrier timers and callbacks, which no caller cancels."""
    if by is None:
        said = actors.current()
        by = said if said.kind is actors.ActorKind.CARRIER else actors.CARRIER

    async def run() -> None:
        waiting = await runtime.carry_out(_ReportChange(runtime, report, token, accounts))
        if waiting:
            await asyncio.wait(waiting)
            await runtime.carry_out(_ReportChange(runtime, report, token, accounts, last=True))

    with actors.as_actor(by):
        await runtime.changes.track(run)


class _ReportChange(Change[set[asyncio.Future[None]] | None]):
    """Answers the Creates to wait for when the call may not be recorded yet."""

    def __init__(
        self,
        runtime: Runtime,
        report: Report,
        token: str | None,
        accounts: frozenset[str] | None,
        *,
        last: bool = False,
    ) -> None:
        self.runtime = runtime
        self.report = report
        self.token = token
        self.accounts = accounts
        self.last = last

    async def decide(
        self, tx: WriteTransaction, first: bool
    ) -> Decided[set[asyncio.Future[None]] | None]:
        rt, report, token, accounts = self.runtime, self.report, self.token, self.accounts
        ch: Changes | None = None
        if token is not None and await tx.carrier_callback_seen(token):
            return Decided(None, None)
        if isinstance(report, ConferenceReport) and not report.call_sid:
            wide = rt.carrier.reports_announcements
            ch = await conference_reports.apply_wide(tx, report, accounts, announcements=wide)
        # Taken before the read: a Create leaves `placing` only once its row is
        # committed, so a read that misses the row (it began before that
        # commit) still finds the Create here, however late the read answers.
        placing = set(rt.placing) if report.call_sid and not self.last else set()
        p = await tx.participant_by_call_sid(report.call_sid) if report.call_sid else None
        if p is None and placing:
            return Decided(placing, None)  # perhaps a call placed but not recorded yet
        if p is not None and accounts is not None and p.account_sid not in accounts:
            p = None  # another tenant's call: not this upstream account's to touch
        if p is not None:
            if isinstance(report, CallReport):
                ordered = rt.carrier.in_process and token is None
                ch = await _call_report(tx, p, report, ordered=ordered, now=rt.clock.now())
            else:
                ch = await _conference_report(tx, p, report, rt.clock.now())
        if token is not None:
            await tx.record_carrier_callback(token, rt.clock.now())
        return Decided(None, ch)


async def _call_report(
    tx: WriteTransaction, p: Participant, report: CallReport, *, ordered: bool, now: float
) -> Changes | None:
    if not ordered:
        carrier = await tx.carrier_call(p.call_sid)
        last = None if carrier is None else carrier[1]
        if carrier_reports.is_stale(last, report.sequence_number):
            return None
        if report.sequence_number is not None:
            conference_sid = carrier[0] if carrier else (report.conference_sid or p.conference_sid)
            await tx.save_carrier_call(p.call_sid, conference_sid, report.sequence_number, now)
    detected = bool(report.answered_by) and p.active and report.answered_by != p.answered_by
    if detected:
        p.answered_by = report.answered_by  # recorded with the step it came with
    if report.status.terminal and p.active:
        # The carrier's own word on the call's end, for the tenant's callback.
        p.carrier_call_duration = report.duration_seconds
        p.carrier_duration = report.duration
        p.sip_response_code = report.sip_response_code
    steps = [status.progress() for status in (*report.passed, report.status)]
    ch = await _progress(tx, p, steps, report.timestamp)
    if detected:
        if ch is None:
            # The step was already taken (a participant-join came first): the
            # detection is a change of its own.
            conf = await tx.conference(p.account_sid, p.conference_sid)
            assert conf is not None
            ch = Changes(conf, max(report.timestamp, p.date_updated))
        # One event says it is known, after the step it came with.
        ch.emit(EventType.PARTICIPANT_ANSWERED_BY, p)
    return ch


async def _conference_report(
    tx: WriteTransaction, p: Participant, report: ConferenceReport, now: float
) -> Changes | None:
    carrier = await tx.carrier_call(p.call_sid)
    if carrier is not None and carrier[0] != report.conference_sid:
        # Rule 3: the call moved. Its join where it arrived names the carrier
        # conference effects must go to from now on.
        joined = report.event is ConferenceEvent.PARTICIPANT_JOIN
        if joined and report.rollcall_conference == carrier[0]:
            await tx.save_carrier_call(p.call_sid, report.conference_sid, carrier[1], now)
        return None
    scope = f"{report.conference_sid}/{p.call_sid}"
    if carrier_reports.is_stale(await tx.carrier_event_sequence(scope), report.sequence_number):
        return None
    await tx.save_carrier_event_sequence(scope, report.sequence_number)
    if report.event is ConferenceEvent.PARTICIPANT_LEAVE:
        status = report.participant_call_status
        progress = status.progress() if status is not None and status.terminal else None
        reason = carrier_reports.leave_reason(report)
        return await _progress(
            tx, p, [progress or CallStatus.COMPLETED], report.timestamp, reason=reason
        )
    if report.event is ConferenceEvent.PARTICIPANT_JOIN:
        return await _progress(tx, p, [CallStatus.IN_PROGRESS], report.timestamp)
    observed = carrier_reports.observe(p, report)
    if not observed:
        return None
    conf = await tx.conference(p.account_sid, p.conference_sid)
    assert conf is not None
    ch = Changes(conf, max(report.timestamp, p.date_updated))
    for change in observed:
        for field, value in change.changes.items():
            setattr(p, field, value)
        ch.emit(change.event, p)
    return ch


async def _progress(
    tx: WriteTransaction,
    p: Participant,
    steps: Sequence[CallStatus],
    at: float,
    *,
    reason: LeaveReason | None = None,
) -> Changes | None:
    """The steps p's call took at `at`, in order, as one change."""
    if not p.active:
        return None
    conf = await tx.conference(p.account_sid, p.conference_sid)
    assert conf is not None
    roster = await read_roster(tx, conf.sid, _needs(conf, p, steps))
    ch = Changes(conf, max(at, p.date_updated))
    for step in steps:
        rules.apply_progress(ch, roster, p, step, reason=reason)
    return ch


_PRELUDE = frozenset({CallStatus.INITIATED, CallStatus.RINGING})


def _needs(conf: Conference, p: Participant, steps: Sequence[CallStatus]) -> rules.Need:
    """What the steps need read. rules.needs judges one step from the state
    before it; after a step other than dialing and ringing (which need
    nothing and change nothing a later step's needs depend on) the state a
    later step starts from is not read yet, so the members are."""
    *before, last = steps
    if any(step not in _PRELUDE for step in before):
        return rules.Need.MEMBERS
    return rules.needs(conf, p, last)


async def read_roster(tx: WriteTransaction, conference_sid: str, need: rules.Need) -> rules.Roster:
    """Read what rules.needs asked for: nothing, the count, or the members."""
    if need is rules.Need.MEMBERS:
        members = {p.call_sid: p for p in await tx.active_participants(conference_sid)}
        return rules.Roster(len(members), members)
    if need is rules.Need.COUNT:
        return rules.Roster(await tx.count_active(conference_sid))
    return rules.Roster()
