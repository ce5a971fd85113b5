"""The Participant resource: fetch, list, create, update and delete.

Rule 1: every change runs through the runtime's loop (decide, carry out at the
        carrier, decide again, record), apart from its caller: once its
        transaction has begun it runs to its end even if the caller has gone.
Rule 2: a stale etag changes nothing; it is checked when the change is first
        decided, not again after the carrier acted on it.
Rule 3: a participant whose call has ended is not found for an Update or a
        Delete (the carrier's own report of a kick may come first: the Delete
        then answers as if it had ended it).
Rule 4: reads and writes of another account's resources answer not found, as
        for missing ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from service.core import bulk, create, errors, rules, update
from service.core import move as moves
from service.core.changes import Changes
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.create import Created, find_conference
from service.core.ports.carrier import CallTarget, Kick, Update
from service.core.ports.store import Page, ParticipantFilter, WriteTransaction
from service.core.records import Conference, Participant
from service.core.reports import read_roster
from service.core.runtime import Change, Decided, Runtime

log = logging.getLogger("rollcall.core")


class Participants:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- reads ---------------------------------------------------------------

    async def conference(self, ref: ConferenceRef) -> Conference:
        conf = await find_conference(self.runtime.store, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        return conf

    async def fetch(self, ref: ConferenceRef, key: str, *, include_ended: bool) -> Participant:
        found = await self.runtime.store.participant_in(
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
        return await self.runtime.store.list_participants(
            conf.sid, flt, page_size=page_size, after=after, before=before
        )

    # -- changes -------------------------------------------------------------

    async def create(self, cmd: CreateCommand) -> Created:
        """Returns the participant and its queue time in ms (None on a repeat)."""
        if cmd.alerts is None:
            defaults = self.runtime.alert_defaults
            rules = defaults.get(cmd.conference.account_sid) or defaults.get("*")
            if rules is not None:
                cmd = dataclasses.replace(cmd, alerts=rules)
        self.runtime.carrier.check(cmd.conference.account_sid, cmd.from_endpoint, cmd.to_endpoint)
        return await self.runtime.changes.run(lambda: self._create(cmd))

    async def _create(self, cmd: CreateCommand) -> Created:
        rt = self.runtime
        change = create.CreateChange(cmd, rt.clock, rt.carrier.whisper_limit)
        # A report for a call placed but not recorded yet waits for this.
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        rt.placing.add(done)
        try:
            created = await rt.carry_out(change)
        except BaseException as exc:
            await change.clean_up(rt.store, rt.carrier, exc)
            raise
        finally:
            rt.placing.discard(done)
            done.set_result(None)
        assert created is not None
        return created

    async def update(self, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> Participant:
        change = _UpdateChange(self.runtime, ref, key, cmd)
        return await self.runtime.changes.run(lambda: self.runtime.carry_out(change))

    async def move(self, ref: ConferenceRef, key: str, cmd: moves.MoveCommand) -> moves.Moved:
        """Move the participant to another conference (service.core.move)."""
        return await self.runtime.changes.run(lambda: self._move(ref, key, cmd))

    async def _move(self, ref: ConferenceRef, key: str, cmd: moves.MoveCommand) -> moves.Moved:
        rt = self.runtime
        for _ in range(moves.ATTEMPTS):
            planned = await moves.plan(rt.store, ref, key, cmd)
            change = moves.MoveChange(rt.clock, rt.carrier.whisper_limit, ref, key, cmd, planned)
            try:
                return await rt.carry_out(change)
            except moves.MoveConflict:
                continue
            except BaseException:
                if change.carried:
                    log.error("a move the carrier made was not recorded: its join report follows")
                elif not rt.carrier.in_process:
                    await moves.restore(rt.store, change, rt.clock.now())
                raise
        raise errors.carrier_contention()

    async def update_many(
        self, ref: ConferenceRef, cmd: bulk.BulkCommand
    ) -> Sequence[bulk.Outcome]:
        """Mute, unmute, hold or unhold many participants (service.core.bulk)."""
        rt = self.runtime
        change = bulk.BulkChange(rt.clock, ref, cmd, rt.carrier.reports_announcements)
        return await rt.changes.run(lambda: rt.carry_out(change))

    async def delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        change = _DeleteChange(self.runtime, ref, key, etag)
        return await self.runtime.changes.run(lambda: self.runtime.carry_out(change))


class _ParticipantChange(Change[Participant]):
    """An Update or Delete of one participant, one at a time per participant
    (as named) on this replica."""

    def __init__(self, runtime: Runtime, ref: ConferenceRef, key: str, etag: str) -> None:
        self.runtime = runtime
        self.ref = ref
        self.key = key
        self.etag = etag
        self.account_sid = ref.account_sid
        self.locks = ("participant:" + key,)

    async def locked(self, tx: WriteTransaction, first: bool) -> tuple[Conference, Participant]:
        conf = await find_conference(tx, self.ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {self.ref.key}")
        participant = await tx.participant(conf.sid, self.key)
        if participant is None:
            raise errors.participant_not_found(f"participant {self.key}")
        if first and self.etag and self.etag != participant.etag:
            raise errors.etag_mismatch(self.etag, participant.etag)
        return conf, participant


class _UpdateChange(_ParticipantChange):
    def __init__(self, runtime: Runtime, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> None:
        super().__init__(runtime, ref, key, cmd.etag)
        self.cmd = cmd

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[Participant]:
        conf, p = await self.locked(tx, first)
        held = p.hold
        ch = Changes(conf, self.runtime.clock.now())
        effects = await update.decide(
            tx,
            ch,
            conf,
            p,
            self.cmd,
            announcement_reported=self.runtime.carrier.reports_announcements,
            whisper_limit=self.runtime.carrier.whisper_limit,
        )
        if not effects:
            return Decided(p, ch)
        return Decided(p, ch, [Update(await call_target(tx, p), effects, held=held)])


class _DeleteChange(_ParticipantChange):
    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[Participant]:
        conf, p = await self.locked(tx, first)
        if not p.active:
            if not first:
                return Decided(p, None)  # the carrier's own report of the kick came first
            raise errors.participant_not_found(f"participant {self.key}")
        roster = await read_roster(tx, conf.sid, rules.needs(conf, p, None))
        ch = Changes(conf, self.runtime.clock.now())
        rules.kick(ch, roster, p)
        return Decided(p, ch, [Kick(await call_target(tx, p), must_exist=True)])


async def call_target(tx: WriteTransaction, p: Participant) -> CallTarget:
    """The carrier's identities of p's call (its carrier conference as recorded)."""
    carrier = await tx.carrier_call(p.call_sid)
    conference_sid = p.conference_sid if carrier is None else carrier[0]
    return CallTarget(p.account_sid, conference_sid, p.call_sid)
