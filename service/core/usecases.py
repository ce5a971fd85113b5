"""Use cases: create, fetch, list, update and delete participants; call reports.

The rules it keeps: every change runs in one store write transaction, in
three steps: it reads what it needs, the rules decide from those values into
Changes (no store call while deciding), and changes.apply writes the result
(so it is durable and announced together). The carrier goes first where it
can refuse (a refusal changes nothing): a Create is placed before it is
recorded (see placing); an Update or Delete is carried out at the carrier
before it is recorded, and never inside a write transaction when the carrier
is remote (see carrier_first); calls ended as a consequence (a conference
ending) are ended at the carrier after the commit. Once a change has started
it runs to its end even if the caller has gone (see background); a repeated
request_id returns the first participant and never dials again; a stale etag changes
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from service.clock import Clock
from service.core import background, carrier_first, create, errors, placing, reports, rules, update
from service.core.carrier_first import Decided
from service.core.changes import Changes
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.model import Conference, Participant
from service.core.ports.carrier import (
    CallTarget,
    Carrier,
    Kick,
    Report,
    Update,
)
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Page, ParticipantFilter, Store, WriteTransaction

log = logging.getLogger("rollcall.core")


class Participants:
    def __init__(self, store: Store, carrier: Carrier, clock: Clock, feed: ChangeFeed) -> None:
        self.store = store
        self.carrier = carrier
        self.clock = clock
        self.feed = feed
        # Every change runs here, apart from its caller (see background).
        self.changes = background.ChangeRunner()
        # Creates between placing a call and recording it: a report for a call
        # not yet recorded waits for them (see reports).
        self.placing: set[asyncio.Future[None]] = set()
        self._create_locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def _committed(self, ch: Changes) -> None:
        """What a commit promises: hangups, then the announcement on the feed.

        A carrier that fails here cannot undo the commit, so it never stops the
        announcement: the participant was already recorded as gone, and the
        failure is logged.
        """
        for target in ch.kicks:
            try:
                await self.carrier.apply(Kick(target))
            except Exception:
                log.exception(
                    "carrier hangup failed after commit", extra={"call_sid": target.call_sid}
                )
        self.feed.publish(ch.events)

    # -- reads ---------------------------------------------------------------

    async def conference(self, ref: ConferenceRef) -> Conference:
        conf = await _find_conference(self.store, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        return conf

    async def fetch(self, ref: ConferenceRef, key: str, *, include_ended: bool) -> Participant:
        found = await self.store.participant_in(
            ref.account_sid, ref.key, ref.is_sid, key, include_ended=include_ended
        )
        if found is None:
            await self.conference(ref)  # raises when the conference is what is missing
            raise errors.participant_not_found(f"participant {key}")
        return found

    async def list(
        self,
        ref: ConferenceRef,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None,
        before: int | None,
    ) -> Page:
        conf = await self.conference(ref)
        return await self.store.list_participants(
            conf.sid, flt, page_size=page_size, after=after, before=before
        )

    # -- create --------------------------------------------------------------

    async def create(self, cmd: CreateCommand) -> tuple[Participant, float | None]:
        """Returns the participant and its queue time in ms (None on a repeat)."""
        self.carrier.check(cmd.conference.account_sid, cmd.from_endpoint, cmd.to_endpoint)
        return await self.changes.run(lambda: placing.create_participant(self, cmd))

    def lock(self, account: str, name: str) -> asyncio.Lock:
        lock = self._create_locks.get((account, name))
        if lock is None:
            if len(self._create_locks) > 1024:
                self._create_locks = {k: v for k, v in self._create_locks.items() if v.locked()}
            lock = self._create_locks[(account, name)] = asyncio.Lock()
        return lock

    # -- update and delete ---------------------------------------------------

    async def _locked(
        self, tx: WriteTransaction, ref: ConferenceRef, key: str, etag: str
    ) -> tuple[Conference, Participant]:
        conf = await _find_conference(tx, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        participant = await tx.participant(conf.sid, key)
        if participant is None:
            raise errors.participant_not_found(f"participant {key}")
        if etag and etag != participant.etag:
            raise errors.etag_mismatch(etag, participant.etag)
        return conf, participant

    async def update(self, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> Participant:
        return await self.changes.run(lambda: self._update(ref, key, cmd))

    async def _update(self, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> Participant:
        async def decide(tx: WriteTransaction, first: bool) -> Decided[Participant]:
            conf, p = await self._locked(tx, ref, key, cmd.etag if first else "")
            ch = Changes(conf, self.clock.now())
            effects = await update.decide(
                tx, ch, conf, p, cmd, announcement_reported=self.carrier.reports_announcements
            )
            if not effects:
                return Decided(p, ch)
            return Decided(p, ch, [Update(await call_target(tx, p), effects)])

        return await self._carrier_first(ref, key, decide)

    async def delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        return await self.changes.run(lambda: self._delete(ref, key, etag))

    async def _delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        async def decide(tx: WriteTransaction, first: bool) -> Decided[Participant]:
            conf, p = await self._locked(tx, ref, key, etag if first else "")
            if not p.active:
                if not first:
                    return Decided(p, None)  # the carrier's own report of the kick came first
                raise errors.participant_not_found(f"participant {key}")
            roster = await read_roster(tx, conf.sid, rules.needs(conf, p, None))
            ch = Changes(conf, self.clock.now())
            rules.kick(ch, roster, p)
            return Decided(p, ch, [Kick(await call_target(tx, p))])

        return await self._carrier_first(ref, key, decide)

    async def _carrier_first(
        self, ref: ConferenceRef, key: str, decide: carrier_first.Decide[Participant]
    ) -> Participant:
        """Run an Update or Delete the carrier carries out first (see carrier_first)."""
        # One such change at a time per participant (as named) on this replica,
        # so the carrier acts in the order the changes are recorded.
        async with self.lock(ref.account_sid, "participant:" + key):
            decided = await carrier_first.run(self.store, self.carrier, decide)
            if decided.changes is not None:
                await self._committed(decided.changes)
        return decided.answer

    # -- carrier reports and restart ------------------------------------------

    async def on_report(
        self, report: Report, token: str | None = None, accounts: frozenset[str] | None = None
    ) -> None:
        """A carrier report becomes a change (see reports); `accounts`: the
        Rollcall accounts it may touch (None: any)."""
        # Called from carrier timers and callbacks, which no caller cancels.
        await self.changes.track(lambda: reports.apply_report(self, report, token, accounts))

    async def recover(self, found: Sequence[Participant] | None = None) -> tuple[int, int]:
        """After a restart: the carrier's word on every open call (see reports).
        `found`: these calls instead of the store's (another replica's,
        claimed after it stopped)."""
        return await reports.reconcile(self, found)


read_roster = reports.read_roster


async def call_target(tx: WriteTransaction, p: Participant) -> CallTarget:
    """The carrier's identities of p's call (its carrier conference as recorded)."""
    carrier = await tx.carrier_call(p.call_sid)
    conference_sid = p.conference_sid if carrier is None else carrier[0]
    return CallTarget(p.account_sid, conference_sid, p.call_sid)


_find_conference = create.find_conference
