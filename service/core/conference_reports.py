"""Conference-wide carrier reports (no CallSid): a conference-end, an announcement's end.

Rule 1: the report is about the Rollcall conference its carrier conference was
        named after, only while that is active, is one of the accounts the
        reporting upstream account may touch, and has a participant in that very
        carrier conference (an older carrier conference's late report changes nothing).
Rule 2: such reports are ordered by SequenceNumber in a scope of their own, the
        carrier conference.
Rule 3: a conference-end ends the conference with the carrier's reason and the call
        that ended it (when it is one of the conference's); every participant still
        in it leaves, and none is kicked again (the carrier ended their calls).
Rule 4: an announcement's end or failure is emitted for the conference only when
        the carrier reports announcements (else it was emitted when asked for);
        anything else changes nothing.
"""

from __future__ import annotations

from service.core import carrier_reports, rules
from service.core.changes import Changes
from service.core.events import EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport
from service.core.ports.store import WriteTransaction
from service.core.records import Participant

_ANNOUNCED = {
    ConferenceEvent.ANNOUNCEMENT_END: EventType.ANNOUNCEMENT_ENDED,
    ConferenceEvent.ANNOUNCEMENT_FAIL: EventType.ANNOUNCEMENT_FAILED,
}


async def apply_wide(
    tx: WriteTransaction,
    report: ConferenceReport,
    accounts: frozenset[str] | None,
    *,
    announcements: bool,
) -> Changes | None:
    """Decide a conference-wide report inside `tx`; the Changes to write, if any.

    accounts: the Rollcall accounts the reporting upstream account may touch
    (None: any). announcements: whether the carrier reports announcements.
    """
    ending = report.event is ConferenceEvent.CONFERENCE_END
    announced = _ANNOUNCED.get(report.event) if announcements else None
    sid = report.rollcall_conference
    if sid is None or not (ending or announced):
        return None
    members = await tx.active_participants(sid)
    if not members:
        return None  # ended (its last participant left) or never Rollcall's
    account = members[0].account_sid
    if accounts is not None and account not in accounts:
        return None  # another tenant's conference
    conf = await tx.conference(account, sid)
    if conf is None or not conf.active:
        return None
    if not await _in_carrier_conference(tx, members, report.conference_sid):
        return None
    scope = report.conference_sid
    if carrier_reports.is_stale(await tx.carrier_event_sequence(scope), report.sequence_number):
        return None
    await tx.save_carrier_event_sequence(scope, report.sequence_number)
    ch = Changes(conf, max(report.timestamp, conf.date_updated))
    if ending:
        # A call moving out (recorded in another carrier conference) is not
        # ended by the end of the one it leaves (service.core.move).
        staying = [p for p in members if await _carrier_conference(tx, p) == scope]
        roster = rules.Roster(len(staying), {p.call_sid: p for p in staying})
        by = await _ending_call(tx, report, conf.sid, roster)
        reason = carrier_reports.end_reason(report)
        rules.end_conference(ch, roster, reason, ending=by, hang_up=False)
    else:
        assert announced is not None
        conf.announce_url = report.announce_url or conf.announce_url
        failed = announced is EventType.ANNOUNCEMENT_FAILED
        conf.announcement_failure = report.announcement_failure if failed else None
        ch.emit(announced)
    return ch


async def _in_carrier_conference(
    tx: WriteTransaction, members: list[Participant], carrier_conference: str
) -> bool:
    for p in members:
        if await _carrier_conference(tx, p) == carrier_conference:
            return True
    return False


async def _carrier_conference(tx: WriteTransaction, p: Participant) -> str:
    carrier = await tx.carrier_call(p.call_sid)
    return p.conference_sid if carrier is None else carrier[0]


async def _ending_call(
    tx: WriteTransaction, report: ConferenceReport, conference_sid: str, roster: rules.Roster
) -> Participant | None:
    """The participant whose call the carrier says ended the conference, if it is this one's."""
    call_sid = report.ended_by_call_sid
    if not call_sid:
        return None
    assert roster.members is not None
    found = roster.members.get(call_sid) or await tx.participant_by_call_sid(call_sid)
    return found if found is not None and found.conference_sid == conference_sid else None
