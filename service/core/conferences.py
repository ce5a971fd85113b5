"""The Conference resource: list, fetch, end, announce.

Rule 1: ending a conference is a change like any other, through the runtime's
        loop and the rule that ends a conference when its last participant
        leaves: every participant still in it leaves (conference ended via
        API), watchers see it and callbacks fire.
Rule 2: one EndConference per carrier conference ends every call at the
        carrier (none is kicked again after the commit); ending one that has
        ended changes nothing.
Rule 3: an announcement plays to the whole conference and needs one that has
        not ended; its end is one event with no participant, from the
        carrier's report when it reports announcements, else at once.
Rule 4: reads and writes of another account's conference answer not found.
Rule 5: who hears whom is derived from the participants as one read of them
        recorded (service.core.hearing), never asked of the carrier.
"""

from __future__ import annotations

import dataclasses

from service.core import errors, hearing, rules
from service.core.changes import Changes
from service.core.commands import ConferenceRef
from service.core.create import find_conference
from service.core.events import EventType
from service.core.ports.carrier import (
    AnnounceConference,
    ConferenceTarget,
    Effect,
    EndConference,
)
from service.core.ports.store import (
    ConferenceFilter,
    ConferencePage,
    ParticipantFilter,
    WriteTransaction,
)
from service.core.records import Conference
from service.core.reports import read_roster
from service.core.runtime import Change, Decided, Runtime
from service.core.statuses import EndReason


@dataclasses.dataclass(frozen=True)
class ConferenceUpdate:
    """Twilio's Update Conference: `end` is Status=completed."""

    end: bool = False
    announce_url: str | None = None
    announce_method: str | None = None


class Conferences:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def list(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None,
        after: int | None,
    ) -> ConferencePage:
        return await self.runtime.store.list_conferences(
            account_sid, flt, page_size=page_size, before=before, after=after
        )

    async def fetch(self, ref: ConferenceRef) -> Conference:
        conf = await find_conference(self.runtime.store, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        return conf

    async def hearing(self, ref: ConferenceRef) -> tuple[Conference, int, hearing.Matrix]:
        """The conference, the revision read at, and who hears whom then (Rule 5)."""
        conf = await self.fetch(ref)
        page = await self.runtime.store.list_participants(
            conf.sid, ParticipantFilter(), page_size=conf.max_participants + 1
        )
        return conf, page.revision, hearing.hearing(page.participants)

    async def update(self, ref: ConferenceRef, cmd: ConferenceUpdate) -> Conference:
        """End and/or announce, the carrier first (Rules 1-3)."""
        return await self.runtime.carry_out(_ConferenceChange(self.runtime, ref, cmd))


class _ConferenceChange(Change[Conference]):
    """One at a time per conference (as named) on this replica."""

    def __init__(self, runtime: Runtime, ref: ConferenceRef, cmd: ConferenceUpdate) -> None:
        self.runtime = runtime
        self.ref = ref
        self.cmd = cmd
        self.account_sid = ref.account_sid
        self.locks = ("conference:" + ref.key,)

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[Conference]:
        """Decided again after the carrier acted (first=False), a conference
        the carrier's own reports have meanwhile ended is no error: there is
        nothing left to do."""
        ref, cmd = self.ref, self.cmd
        conf = await find_conference(tx, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        ch = Changes(conf, self.runtime.clock.now())
        if not conf.active:
            if cmd.announce_url and first:
                raise errors.conference_not_active(conf.sid)
            return Decided(conf, ch)
        roster = rules.Roster()
        if cmd.end or cmd.announce_url:
            roster = await read_roster(tx, conf.sid, rules.Need.MEMBERS)
        targets = await _carrier_conferences(tx, conf, roster)
        effects: list[Effect] = []
        if cmd.announce_url:
            conf.announce_url = cmd.announce_url
            effects += [
                AnnounceConference(t, cmd.announce_url, cmd.announce_method) for t in targets
            ]
            if not self.runtime.carrier.reports_announcements:
                # No carrier report will come: played once the carrier has taken it.
                ch.emit(EventType.ANNOUNCEMENT_ENDED)
        if cmd.end:
            # One effect ends every call at the carrier: none is kicked again.
            effects += [EndConference(t) for t in targets]
            rules.end_conference(
                ch, roster, EndReason.CONFERENCE_ENDED_VIA_API, ending=None, hang_up=False
            )
        return Decided(conf, ch, effects)


async def _carrier_conferences(
    tx: WriteTransaction, conf: Conference, roster: rules.Roster
) -> list[ConferenceTarget]:
    """The carrier conferences the conference's participants are in (normally one;
    none when no call is left)."""
    found: dict[str, None] = {}
    for p in (roster.members or {}).values():
        carrier = await tx.carrier_call(p.call_sid)
        found[p.conference_sid if carrier is None else carrier[0]] = None
    return [ConferenceTarget(conf.account_sid, sid) for sid in found]
