"""Calls placed at a remote carrier and never recorded: found by key and ended.

What it owns: the placement a Create with a remote carrier writes in the
transaction that decides it (its call's key, account and conference) and
removes in the one that records the call, or once the call is known not to
ring (a refusal, a call ended because it could not be recorded); and, after
a restart, the placements a process left behind by dying in between.

The rules it keeps: a placement is forgotten only when its call is known
not to ring unrecorded (recorded, refused, ended, or not found at the
carrier); when that is unknown (the carrier unreachable, a kick that
failed) it stays for the next recovery. Recovery touches only this process's
own placements at its start (an earlier run's) and others older than a bound
the caller gives (longer than a Create may take between deciding and
recording, the carrier's own bound for placing included), so a Create still
in flight on another live replica is never touched. A call
found alive at the carrier and not recorded is ended (Kick), once, and
logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from service.core.errors import Code, RollcallError
from service.core.ports.carrier import CallReport, CallTarget, Kick, OpenCall
from service.core.ports.store import Placement

if TYPE_CHECKING:
    from service.core.usecases import Participants

log = logging.getLogger("rollcall.core")


def refused(exc: BaseException) -> bool:
    """Whether a failed place() means no call: a typed refusal. UNAVAILABLE
    (the carrier could not be reached) may hide a placed call; so may an
    unexpected failure."""
    return isinstance(exc, RollcallError) and exc.code is not Code.UNAVAILABLE


async def forget(ps: Participants, key: str) -> None:
    """Forget a placement whose call is known not to ring (its own transaction)."""
    try:
        async with ps.store.write() as tx:
            await tx.forget_placement(key)
    except Exception:
        # Harmless: the next recovery finds no live call for it and forgets it.
        log.warning("could not forget a placement", exc_info=True)


async def recover(ps: Participants, older_than_seconds: float, *, at_start: bool) -> int:
    """End the calls of placements that the carrier still has and Rollcall
    never recorded: those older than `older_than_seconds`, and at start also
    this process's own of any age (its earlier run's: none is in flight).
    Returns how many were ended."""
    async with ps.store.write() as tx:
        left = await tx.placements_before(ps.clock.now() - older_than_seconds, mine=at_start)
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
    found = {r.key: r for r in await ps.carrier.reconcile(calls) if r.key is not None}
    ended = 0
    for placement in left:
        report = found.get(placement.key)
        if report is None:
            continue  # the carrier could not say: kept for the next recovery
        if await _resolve(ps, placement, report):
            ended += 1
    return ended


async def _resolve(ps: Participants, placement: Placement, report: CallReport) -> bool:
    """Forget the placement once its call cannot ring unrecorded; True when
    that took ending it."""
    if not report.call_sid or report.status.terminal:
        await forget(ps, placement.key)
        return False
    async with ps.store.write() as tx:
        recorded = await tx.participant_by_call_sid(report.call_sid) is not None
        if recorded:
            await tx.forget_placement(placement.key)
    if recorded:
        return False  # recorded after all: its own rules end it
    target = CallTarget(
        placement.account_sid, report.conference_sid or placement.conference_sid, report.call_sid
    )
    try:
        await ps.carrier.apply(Kick(target))
    except Exception:
        log.warning("could not end a call placed but never recorded", exc_info=True)
        return False
    log.info(
        "ended a call placed but never recorded",
        extra={
            "call_sid": report.call_sid,
            "conference_sid": placement.conference_sid,
            "age_seconds": round(ps.clock.now() - placement.placed_at, 1),
        },
    )
    await forget(ps, placement.key)
    return True
