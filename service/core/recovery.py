"""Restart recovery: the carrier's word on open calls, and calls never recorded.

Rule 1: after a restart every open call is handed to the carrier and its word
        applied as a report: calls it says ended are ended, answered calls
        that run on are kept.
Rule 2: a placement is forgotten only when its call is known not to ring
        unrecorded (recorded, refused, ended, or not found at the carrier);
        when that is unknown (the carrier unreachable, a kick that failed) it
        stays for the next recovery.
Rule 3: placement recovery touches only this process's own placements at its
        start (an earlier run's) and others older than a bound the caller
        gives (longer than a Create may take), so a Create in flight on
        another live replica is never touched; a call found alive and not
        recorded is ended once, and logged.
Rule 4: what recovery changes acts as Rollcall's recovery rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from service.core import actors, reports
from service.core.create import forget
from service.core.lost_calls import open_call
from service.core.ports.carrier import CallReport, CallTarget, Kick, OpenCall
from service.core.ports.store import Placement
from service.core.records import Participant
from service.core.runtime import Runtime

log = logging.getLogger("rollcall.core")


async def calls(rt: Runtime, found: Sequence[Participant] | None = None) -> tuple[int, int]:
    """After a restart: hand every open call to the carrier and apply its word.

    Returns (ended, kept): calls the carrier reports ended (the simulator:
    every call not yet answered, whose timers did not survive) and answered
    calls that run on.
    """
    open_calls: list[OpenCall] = []
    participants = found
    if participants is None:
        participants = await rt.store.active_participants_everywhere()
    if not participants:
        return 0, 0
    async with rt.store.write() as tx:
        for p in participants:
            open_calls.append(await open_call(tx, p))
    ended: set[str] = set()
    for report in await rt.carrier.reconcile(open_calls):
        if report.status.terminal:
            ended.add(report.key or report.call_sid)
        await reports.apply(rt, report, by=actors.rule(actors.RECOVERY))
    kept = sum(1 for c in open_calls if c.answered_at is not None and c.key not in ended)
    if ended or kept:
        log.info("reconciled calls", extra={"ended": len(ended), "kept": kept})
    return len(ended), kept


async def placements(rt: Runtime, older_than_seconds: float, *, at_start: bool) -> int:
    """End the calls of placements that the carrier still has and Rollcall
    never recorded: those older than `older_than_seconds`, and at start also
    this process's own of any age (its earlier run's: none is in flight).
    Returns how many were ended."""
    async with rt.store.write() as tx:
        left = await tx.placements_before(rt.clock.now() - older_than_seconds, mine=at_start)
    if not left:
        return 0
    calls = [
        OpenCall(
            account_sid=p.account_sid,
            key=p.key,
            conference=p.conference_sid,
            call_sid=None,
            conference_sid=None,
            to_endpoint="",
            time_limit_seconds=0,
        )
        for p in left
    ]
    found = {r.key: r for r in await rt.carrier.reconcile(calls) if r.key is not None}
    ended = 0
    for placement in left:
        report = found.get(placement.key)
        if report is None:
            continue  # the carrier could not say: kept for the next recovery
        if await _resolve(rt, placement, report):
            ended += 1
    return ended


async def _resolve(rt: Runtime, placement: Placement, report: CallReport) -> bool:
    """Forget the placement once its call cannot ring unrecorded; True when
    that took ending it."""
    if not report.call_sid or report.status.terminal:
        await forget(rt.store, placement.key)
        return False
    async with rt.store.write() as tx:
        recorded = await tx.participant_by_call_sid(report.call_sid) is not None
        if recorded:
            await tx.forget_placement(placement.key)
    if recorded:
        return False  # recorded after all: its own rules end it
    target = CallTarget(
        placement.account_sid, report.conference_sid or placement.conference_sid, report.call_sid
    )
    try:
        await rt.carrier.apply(Kick(target))
    except Exception:
        log.warning("could not end a call placed but never recorded", exc_info=True)
        return False
    log.info(
        "ended a call placed but never recorded",
        extra={
            "call_sid": report.call_sid,
            "conference_sid": placement.conference_sid,
            "age_seconds": round(rt.clock.now() - placement.placed_at, 1),
        },
    )
    await forget(rt.store, placement.key)
    return True
