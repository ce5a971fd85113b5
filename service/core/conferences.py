"""Use cases of the Conference resource: list, fetch, end, announce.

The rules it keeps: ending a conference is a change like any other, made in
one write transaction through Changes and the same rule that ends a
conference when its last participant leaves, so every participant still in
it leaves (reason conference_ended_via_api), the conference-end event is
logged, watchers see it and callbacks fire. The carrier goes first (inside
the write transaction when it is in process, else before it and decided
again after): one EndConference per carrier conference ends every call
(none is kicked again after the commit), and its refusal changes nothing.
Ending one that has already ended changes nothing. An announcement
plays to the whole conference (AnnounceConference at the carrier; one
announcement-end event with no participant, from the carrier's report when
it reports announcements, else at once); it needs a conference that has not
ended. Reads and writes of another account's conference answer not found,
as for a missing one.
"""

from __future__ import annotations

import dataclasses

from service.clock import Clock
from service.core import carrier_first, errors, rules
from service.core.carrier_first import Decided
from service.core.changes import Changes
from service.core.commands import ConferenceRef
from service.core.model import Conference, EndReason, EventType
from service.core.ports.carrier import (
    AnnounceConference,
    ConferenceTarget,
    Effect,
    EndConference,
)
from service.core.ports.store import ConferenceFilter, ConferencePage, Store, WriteTransaction
from service.core.usecases import Participants, _find_conference, read_roster


@dataclasses.dataclass(frozen=True)
class ConferenceUpdate:
    """Twilio's Update Conference: `end` is Status=completed."""

    end: bool = False
    announce_url: str | None = None
    announce_method: str | None = None


class Conferences:
    def __init__(self, store: Store, participants: Participants, clock: Clock) -> None:
        self.store = store
        # Participants owns what happens after a commit (hang-ups, listeners).
        self.participants = participants
        self.clock = clock

    async def list(
        self,
        account_sid: str,
        flt: ConferenceFilter,
        *,
        page_size: int,
        before: int | None,
        after: int | None,
    ) -> ConferencePage:
        return await self.store.list_conferences(
            account_sid, flt, page_size=page_size, before=before, after=after
        )

    async def fetch(self, ref: ConferenceRef) -> Conference:
        return await self.participants.conference(ref)

    async def update(self, ref: ConferenceRef, cmd: ConferenceUpdate) -> Conference:
        """End and/or announce, the carrier first (as Participants' Update and Delete).

        An in-process carrier acts inside the write transaction. A remote one
        is never waited for inside it: the change is decided, rolled back,
        carried out at the carrier, then decided again on fresh state and
        recorded, asking the carrier only for what is still to do.
        """
        ps = self.participants

        async def decide(tx: WriteTransaction, first: bool) -> Decided[Conference]:
            return await self._decide(tx, ref, cmd, first=first)

        # One such change at a time per conference (as named) on this replica.
        async with ps.lock(ref.account_sid, "conference:" + ref.key):
            decided = await carrier_first.run(self.store, ps.carrier, decide)
            if decided.changes is not None:
                await ps._committed(decided.changes)  # the one post-commit path
        return decided.answer

    async def _decide(
        self, tx: WriteTransaction, ref: ConferenceRef, cmd: ConferenceUpdate, *, first: bool
    ) -> Decided[Conference]:
        """The change and its carrier effects, decided on the state `tx` reads.

        Decided again after the carrier acted (first=False), a conference the
        carrier's own reports have meanwhile ended is no error: there is
        nothing left to do.
        """
        conf = await _find_conference(tx, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        ch = Changes(conf, self.clock.now())
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
            if not self.participants.carrier.reports_announcements:
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
