"""Carrier reports become changes; after a restart, the carrier's word on open calls.

The rules it keeps: a report is applied in one write transaction together
with its idempotency token (so a callback retried, here or on another
replica, changes nothing the second time) and its SequenceNumber (so an older
report arriving after a newer one changes nothing; an in-process carrier's
own reports, in order and once by the port's rule, need neither); a report for a call whose
Create is still between placing and recording waits for it; a report about
another tenant's call, or a call Rollcall does not know, changes nothing.
Call progress goes through the conference rules (rules.apply_progress),
a participant-leave with the carrier's ReasonParticipantLeft; conference
events Rollcall did not cause (carrier_reports.observe) are emitted like any
other change, so watchers and callbacks see them; conference-wide events (no
CallSid: conference-end, a conference announcement's end) are
conference_reports'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.core import background, carrier_reports, conference_reports, rules
from service.core.changes import Changes, apply
from service.core.model import (
    CallStatus,
    Conference,
    EventType,
    LeaveReason,
    Participant,
    ParticipantStatus,
)
from service.core.ports.carrier import (
    CallReport,
    ConferenceEvent,
    ConferenceReport,
    OpenCall,
    Report,
)
from service.core.ports.store import WriteTransaction

if TYPE_CHECKING:
    from service.core.usecases import Participants

log = logging.getLogger("rollcall.core")


async def apply_report(
    ps: Participants, report: Report, token: str | None, accounts: frozenset[str] | None
) -> None:
    waiting = await _apply_once(ps, report, token, accounts, last_try=False)
    if waiting:
        await asyncio.wait(waiting)
        await _apply_once(ps, report, token, accounts, last_try=True)


async def _apply_once(
    ps: Participants,
    report: Report,
    token: str | None,
    accounts: frozenset[str] | None,
    *,
    last_try: bool,
) -> set[asyncio.Future[None]] | None:
    ch: Changes | None = None
    async with ps.store.write() as tx:
        background.started()
        if token is not None and await tx.carrier_callback_seen(token):
            return None
        if isinstance(report, ConferenceReport) and not report.call_sid:
            wide = ps.carrier.reports_announcements
            ch = await conference_reports.apply_wide(tx, report, accounts, announcements=wide)
        p = await tx.participant_by_call_sid(report.call_sid) if report.call_sid else None
        if p is None and report.call_sid and ps.placing and not last_try:
            return set(ps.placing)  # perhaps a call placed but not recorded yet
        if p is not None and accounts is not None and p.account_sid not in accounts:
            p = None  # another tenant's call: not this upstream account's to touch
        if p is not None:
            if isinstance(report, CallReport):
                # An in-process carrier's own reports come in order and once
                # (the port's rule): no SequenceNumber to keep or check.
                ordered = ps.carrier.in_process and token is None
                ch = await _call_report(tx, p, report, ordered=ordered)
            else:
                ch = await _conference_report(tx, p, report)
        if token is not None:
            await tx.record_carrier_callback(token, ps.clock.now())
    if ch is not None:
        await ps._committed(ch)
    return None


async def _call_report(
    tx: WriteTransaction, p: Participant, report: CallReport, *, ordered: bool
) -> Changes | None:
    if not ordered:
        carrier = await tx.carrier_call(p.call_sid)
        last = None if carrier is None else carrier[1]
        if carrier_reports.is_stale(last, report.sequence_number):
            return None
        if report.sequence_number is not None:
            conference_sid = carrier[0] if carrier else (report.conference_sid or p.conference_sid)
            await tx.save_carrier_call(p.call_sid, conference_sid, report.sequence_number)
    detected = bool(report.answered_by) and p.active and report.answered_by != p.answered_by
    if detected:
        p.answered_by = report.answered_by  # recorded with the step it came with
    steps = [status.progress() for status in (*report.passed, report.status)]
    ch = await _progress(tx, p, steps, report.timestamp)
    if detected and (ch is None or not ch.events):
        # The step was already taken (a participant-join came first): the
        # detection is a change of its own.
        conf = await tx.conference(p.account_sid, p.conference_sid)
        assert conf is not None
        ch = Changes(conf, max(report.timestamp, p.date_updated))
        ch.emit(EventType.PARTICIPANT_MODIFIED, p)
        await apply(tx, ch)
    return ch


async def _conference_report(
    tx: WriteTransaction, p: Participant, report: ConferenceReport
) -> Changes | None:
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
    await apply(tx, ch)
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
    await apply(tx, ch)
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


async def reconcile(
    ps: Participants, found: Sequence[Participant] | None = None
) -> tuple[int, int]:
    """After a restart: hand every open call to the carrier and apply its word.

    Returns (ended, kept): calls the carrier reports ended (the simulator:
    every call not yet answered, whose timers did not survive) and answered
    calls that run on.
    """
    open_calls: list[OpenCall] = []
    participants = found
    if participants is None:
        participants = await ps.store.active_participants_everywhere()
    if not participants:
        return 0, 0
    async with ps.store.write() as tx:
        for p in participants:
            carrier = await tx.carrier_call(p.call_sid)
            connected = p.status is ParticipantStatus.CONNECTED and p.answered_at is not None
            open_calls.append(
                OpenCall(
                    account_sid=p.account_sid,
                    key=p.call_sid,
                    conference=p.conference_sid,
                    call_sid=p.call_sid,
                    conference_sid=p.conference_sid if carrier is None else carrier[0],
                    to_endpoint=p.to_endpoint,
                    time_limit_seconds=p.time_limit,
                    answered_at=p.answered_at if connected else None,
                    last_sequence_number=None if carrier is None else carrier[1],
                )
            )
    ended: set[str] = set()
    for report in await ps.carrier.reconcile(open_calls):
        if report.status.terminal:
            ended.add(report.key or report.call_sid)
        await ps.on_report(report)
    kept = sum(1 for c in open_calls if c.answered_at is not None and c.key not in ended)
    if ended or kept:
        log.info("reconciled calls", extra={"ended": len(ended), "kept": kept})
    return len(ended), kept
