"""Use cases: create, fetch, list, update and delete participants; call reports.

The rules it keeps: every change runs in one store write transaction, in
three steps: it reads what it needs, the rules decide from those values into
Changes (no store call while deciding), and changes.apply writes the result
(so it is durable and announced together). The carrier goes first where it
can refuse: a Create is decided, then placed, then recorded with the
carrier's CallSid (a refusal records nothing); an Update or Delete carries
its effect to the carrier inside its transaction before writing (a refusal
rolls it back); calls ended as a consequence (a conference ending) are
ended at the carrier after the commit. Once a change has started it runs to
its end even if the caller has gone (see background); a repeated request_id
returns the first participant and never dials again; a stale etag changes
nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

from service.clock import Clock
from service.core import background, create, errors, reports, rules, update
from service.core.changes import Changes, apply
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.model import Conference, Event, EventType, Participant
from service.core.ports.store import Page, ParticipantFilter, Store, WriteTransaction
from service.core.ports.telephony import (
    CallTarget,
    Effect,
    Kick,
    Placed,
    Report,
    Telephony,
    Update,
)

log = logging.getLogger("rollcall.core")

EventListener = Callable[[list[Event]], Awaitable[None] | None]


class Participants:
    def __init__(self, store: Store, telephony: Telephony, clock: Clock) -> None:
        self.store = store
        self.telephony = telephony
        self.clock = clock
        self._listeners: list[EventListener] = []
        # Every change runs here, apart from its caller (see background).
        self.changes = background.ChangeRunner()
        # Creates between placing a call and recording it: a report for a call
        # not yet recorded waits for them (see reports).
        self.placing: set[asyncio.Future[None]] = set()
        self._create_locks: dict[tuple[str, str], asyncio.Lock] = {}

    def subscribe(self, listener: EventListener) -> None:
        """Called with each committed transaction's events, in commit order."""
        self._listeners.append(listener)

    async def _committed(self, ch: Changes) -> None:
        """What a commit promises: hangups, then the announcement to listeners.

        A carrier that fails here cannot undo the commit, so it never stops the
        announcement: the participant was already recorded as gone, and the
        failure is logged.
        """
        for target in ch.kicks:
            try:
                await self.telephony.apply(Kick(target))
            except Exception:
                log.exception(
                    "carrier hangup failed after commit", extra={"call_sid": target.call_sid}
                )
        if ch.events:
            for listener in self._listeners:
                result = listener(ch.events)
                if result is not None:
                    await result

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
        self.telephony.check(cmd.conference.account_sid, cmd.from_endpoint, cmd.to_endpoint)
        return await self.changes.run(lambda: self._create(cmd))

    async def _create(self, cmd: CreateCommand) -> tuple[Participant, float | None]:
        # One Create at a time per conference name (so a new conference is
        # created once, and its carrier conference named once) and per request_id.
        account = cmd.conference.account_sid
        keys = sorted({("conference", cmd.conference.key), ("request", cmd.request_id)})
        locks = [self._lock(account, kind + ":" + value) for kind, value in keys if value]
        for lock in locks:
            await lock.acquire()
        try:
            return await self._create_locked(cmd)
        finally:
            for lock in reversed(locks):
                lock.release()

    def _lock(self, account: str, name: str) -> asyncio.Lock:
        lock = self._create_locks.get((account, name))
        if lock is None:
            if len(self._create_locks) > 1024:
                self._create_locks = {k: v for k, v in self._create_locks.items() if v.locked()}
            lock = self._create_locks[(account, name)] = asyncio.Lock()
        return lock

    async def _create_locked(self, cmd: CreateCommand) -> tuple[Participant, float | None]:
        async with self.store.write() as tx:
            background.started()
            repeat = await _repeat(tx, cmd)
            if repeat is not None:
                return repeat, None
            conf, _ = await create.decide(tx, cmd, self.clock.now(), None)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.placing.add(done)
        try:
            placed = await self.telephony.place(
                create.place_call(cmd, create.call_key(cmd), conf.sid)
            )
            try:
                ch, participant = await self._record(cmd, conf.sid, placed)
            except Exception:
                # Placed but not recordable (the conference filled or ended
                # meanwhile, the store failed): the call must not ring on.
                await self._end_unrecorded(cmd.conference.account_sid, placed)
                raise
            if ch is None and participant.call_sid != placed.call_sid:
                # Another replica recorded this request_id meanwhile with a
                # call of its own (a carrier that knows the label gives both
                # the same call): that one stands, ours must not ring on.
                await self._end_unrecorded(participant.account_sid, placed)
        finally:
            self.placing.discard(done)
            done.set_result(None)
        if ch is None:
            return participant, None
        await self._committed(ch)
        return participant, placed.queue_time_ms

    async def _end_unrecorded(self, account_sid: str, placed: Placed) -> None:
        target = CallTarget(account_sid, placed.conference_sid, placed.call_sid)
        try:
            await self.telephony.apply(Kick(target))
        except Exception:
            log.exception("could not end a call that was not recorded")

    async def _record(
        self, cmd: CreateCommand, conference_sid: str, placed: Placed
    ) -> tuple[Changes | None, Participant]:
        """Record the placed call (None: another replica recorded this request_id)."""
        call_sid = placed.call_sid
        now = self.clock.now()
        async with self.store.write() as tx:
            repeat = await _repeat(tx, cmd)
            if repeat is not None:
                return None, repeat
            conf, new = await create.decide(tx, cmd, now, conference_sid)
            ch = Changes(conf, now, new_conference=new)
            participant = create.participant(cmd, conf, call_sid, now)
            ch.emit(EventType.CALL_STATUS_CHANGED, participant, new=True)
            await apply(tx, ch)
            if cmd.request_id:
                await tx.record_request(
                    cmd.conference.account_sid, cmd.request_id, call_sid, cmd.fingerprint
                )
            await tx.save_carrier_call(call_sid, placed.conference_sid, None)
        return ch, participant

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
        async def decide(tx: WriteTransaction, first: bool) -> _Decided:
            conf, p = await self._locked(tx, ref, key, cmd.etag if first else "")
            ch = Changes(conf, self.clock.now())
            effects = await update.decide(
                tx, ch, conf, p, cmd, announcement_reported=self.telephony.reports_announcements
            )
            effect = Update(await call_target(tx, p), effects) if effects else None
            return ch, p, effect

        return await self._carrier_first(ref, key, decide)

    async def delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        return await self.changes.run(lambda: self._delete(ref, key, etag))

    async def _delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        async def decide(tx: WriteTransaction, first: bool) -> _Decided:
            conf, p = await self._locked(tx, ref, key, etag if first else "")
            if not p.active:
                if not first:
                    return None, p, None  # the carrier's own report of the kick came first
                raise errors.participant_not_found(f"participant {key}")
            roster = await read_roster(tx, conf.sid, rules.needs(conf, p, None))
            ch = Changes(conf, self.clock.now())
            rules.kick(ch, roster, p)
            ch.hangups.remove(p.call_sid)  # not after the commit: before it, below
            return ch, p, Kick(await call_target(tx, p))

        return await self._carrier_first(ref, key, decide)

    async def _carrier_first(
        self,
        ref: ConferenceRef,
        key: str,
        decide: Callable[[WriteTransaction, bool], Awaitable[_Decided]],
    ) -> Participant:
        """Run a change whose effect the carrier carries out before it is recorded.

        The carrier can refuse, so it acts first, and its refusal changes
        nothing here. An in-process carrier acts inside the change's write
        transaction. A remote one is never waited for inside it: the change
        is decided, rolled back, carried out at the carrier, then decided
        again on fresh state and recorded, asking the carrier only for what
        is still to do. The caller's etag is checked when it is first decided.
        """
        done: set[object] = set()
        # One such change at a time per participant (as named) on this replica,
        # so the carrier acts in the order the changes are recorded.
        async with self._lock(ref.account_sid, "participant:" + key):
            for round_ in range(_CARRIER_ROUNDS):
                try:
                    async with self.store.write() as tx:
                        background.started()
                        ch, p, effect = await decide(tx, round_ == 0)
                        effect = _pending(effect, done)
                        if effect is not None:
                            if not self.telephony.in_process:
                                raise _CarrierFirst(effect)
                            await self.telephony.apply(effect)
                        if ch is not None:
                            await apply(tx, ch)
                except _CarrierFirst as first:
                    await self.telephony.apply(first.effect)
                    done.update(_parts(first.effect))
                    continue
                if ch is not None:
                    await self._committed(ch)
                return p
        raise errors.carrier_contention()

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


async def _repeat(tx: WriteTransaction, cmd: CreateCommand) -> Participant | None:
    """The participant an earlier Create with this request_id made, if any."""
    if not cmd.request_id:
        return None
    earlier = await tx.request(cmd.conference.account_sid, cmd.request_id)
    if earlier is None:
        return None
    call_sid, fingerprint = earlier
    if fingerprint != cmd.fingerprint:
        raise errors.request_id_reused()
    repeat = await tx.participant_by_call_sid(call_sid)
    assert repeat is not None
    return repeat


async def call_target(tx: WriteTransaction, p: Participant) -> CallTarget:
    """The carrier's identities of p's call (its carrier conference as recorded)."""
    carrier = await tx.carrier_call(p.call_sid)
    conference_sid = p.conference_sid if carrier is None else carrier[0]
    return CallTarget(p.account_sid, conference_sid, p.call_sid)


_find_conference = create.find_conference

# A change, decided: what to write (None: nothing), the participant, and the
# effect the carrier must carry out first (None: none).
_Decided = tuple[Changes | None, Participant, Effect | None]
# Decide-and-carry-out rounds before a participant that keeps changing meanwhile
# is refused (each round but the last asks the carrier for what is left).
_CARRIER_ROUNDS = 4


class _CarrierFirst(Exception):
    """Rolls a write transaction back: the carrier acts first, outside it."""

    def __init__(self, effect: Effect) -> None:
        super().__init__("carrier first")
        self.effect = effect


def _parts(effect: Effect) -> list[object]:
    return list(effect.changes) if isinstance(effect, Update) else [effect]


def _pending(effect: Effect | None, done: set[object]) -> Effect | None:
    """What of `effect` the carrier has not carried out yet (None: nothing)."""
    if effect is None:
        return None
    if isinstance(effect, Update):
        left = tuple(change for change in effect.changes if change not in done)
        return dataclasses.replace(effect, changes=left) if left else None
    return None if effect in done else effect
