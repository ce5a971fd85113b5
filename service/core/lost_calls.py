"""Calls Rollcall shows live that the carrier may have ended: no call is left behind.

Rule 1: a carrier's answer that a call has left its conference
        (errors.call_gone, on an Update or a Kick) ends the participant at
        once, as a change of its own: the carrier is asked for the call's last
        word (status, end time, duration) and that is applied as its report;
        when the carrier says nothing final, the call completed now.
Rule 2: an open call with no change for `quiet_seconds` (its callbacks may
        have been lost: Twilio retries one only when it cannot connect) is
        looked up at the carrier and the carrier's word applied, so lost
        callbacks are repaired within that time; a call found running is not
        looked up again for another `quiet_seconds`.
Rule 3: an in-process carrier never loses a report: Rule 2 does nothing for it.
"""

from __future__ import annotations

import logging

from service.core import reports
from service.core.ports.carrier import CallReport, CallTarget, OpenCall
from service.core.ports.store import WriteTransaction
from service.core.records import Participant
from service.core.runtime import Runtime
from service.core.statuses import CallStatus, ParticipantStatus

log = logging.getLogger("rollcall.core")


async def open_call(tx: WriteTransaction, p: Participant) -> OpenCall:
    """p's call as the carrier port's reconcile() takes it."""
    carrier = await tx.carrier_call(p.call_sid)
    connected = p.status is ParticipantStatus.CONNECTED and p.answered_at is not None
    return OpenCall(
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


async def gone(rt: Runtime, target: CallTarget) -> None:
    """Rule 1: end the participant of a call the carrier says has left."""
    async with rt.store.write() as tx:
        p = await tx.participant_by_call_sid(target.call_sid)
        call = None if p is None or not p.active else await open_call(tx, p)
    if call is None:
        return
    try:
        found = await rt.carrier.reconcile([call])
    except Exception:
        log.warning("could not read a gone call back from the carrier", exc_info=True)
        found = []
    final = next((r for r in found if r.status.terminal), None)
    if final is None:
        final = CallReport(
            target.call_sid, CallStatus.COMPLETED, rt.clock.now(), account_sid=call.account_sid
        )
    log.info(
        "the carrier says a call has left its conference",
        extra={"call_sid": target.call_sid, "call_status": final.status.value},
    )
    await reports.apply(rt, final)


class QuietCalls:
    """Rule 2: the open calls that have gone quiet, looked up at the carrier."""

    def __init__(self, rt: Runtime, quiet_seconds: float) -> None:
        self.rt = rt
        self.quiet_seconds = quiet_seconds
        # call_sid -> when it was last looked up (a running call goes quiet again).
        self._looked_up: dict[str, float] = {}

    async def run(self) -> int:
        """Look the quiet calls up now; returns how many the carrier had ended."""
        rt = self.rt
        if rt.carrier.in_process or self.quiet_seconds <= 0:
            return 0
        now = rt.clock.now()
        since = now - self.quiet_seconds
        open_now = await rt.store.active_participants_everywhere()
        live = {p.call_sid for p in open_now}
        self._looked_up = {k: v for k, v in self._looked_up.items() if k in live}
        quiet = [
            p
            for p in open_now
            if p.date_updated <= since and self._looked_up.get(p.call_sid, since) <= since
        ]
        if not quiet:
            return 0
        async with rt.store.write() as tx:
            calls = [await open_call(tx, p) for p in quiet]
        ended = 0
        for report in await rt.carrier.reconcile(calls):
            self._looked_up[report.key or report.call_sid] = now
            ended += report.status.terminal
            await reports.apply(rt, report)  # a lost answer, or the call's end
        if ended:
            log.info("ended calls the carrier had ended quietly", extra={"ended": ended})
        return ended
