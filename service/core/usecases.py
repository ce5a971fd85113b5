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
import logging
from collections.abc import Awaitable, Callable, Sequence

from service.clock import Clock
from service.core import background, create, errors, reports, rules
from service.core.changes import Changes, apply
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.model import Conference, Event, EventType, Participant
from service.core.ports.store import Page, ParticipantFilter, Store, WriteTransaction
from service.core.ports.telephony import (
    Announce,
    BeepOnExit,
    CallTarget,
    Coach,
    EndConferenceOnExit,
    Hold,
    Kick,
    Mute,
    ParticipantChange,
    Placed,
    Report,
    Telephony,
    Update,
    Wait,
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
        async with self.store.write() as tx:
            background.started()
            conf, p = await self._locked(tx, ref, key, cmd.etag)
            if not p.active:
                raise errors.participant_not_active(p.call_sid)
            ch = Changes(conf, self.clock.now())
            effects: list[ParticipantChange] = []
            coaching = p.coaching if cmd.coaching is None else cmd.coaching
            coach_target = p.call_sid_to_coach
            if cmd.call_sid_to_coach is not None:
                coach_target = cmd.call_sid_to_coach or None
                if cmd.coaching is None and coach_target:
                    coaching = True
            if not coaching:
                coach_target = None
            elif not coach_target:
                raise errors.invalid_field(
                    "call_sid_to_coach", "required when coaching is true", 16028
                )
            elif coach_target != p.call_sid_to_coach or not p.coaching:
                found = None
                if coach_target != p.call_sid:
                    found = await tx.active_participant(conf.sid, coach_target)
                _check_coach_target(found, coach_target, p.call_sid)
            if cmd.muted is not None and cmd.muted != p.muted:
                p.muted = cmd.muted
                kind = EventType.PARTICIPANT_MUTED if p.muted else EventType.PARTICIPANT_UNMUTED
                effects.append(Mute(p.muted))
                ch.emit(kind, p)
            if cmd.hold is not None and cmd.hold != p.hold:
                p.hold = cmd.hold
                kind = EventType.PARTICIPANT_HELD if p.hold else EventType.PARTICIPANT_UNHELD
                if cmd.hold_url is not None:
                    p.hold_url = cmd.hold_url or None
                if cmd.hold_method is not None:
                    p.hold_method = cmd.hold_method
                effects.append(Hold(p.hold, cmd.hold_url or None, cmd.hold_method))
                ch.emit(kind, p)
            modified = False
            for field, value in (
                ("hold_url", cmd.hold_url),
                ("hold_method", cmd.hold_method),
                ("wait_url", cmd.wait_url),
                ("wait_method", cmd.wait_method),
                ("beep_on_exit", cmd.beep_on_exit),
                ("end_conference_on_exit", cmd.end_conference_on_exit),
                ("announce_method", cmd.announce_method),
            ):
                if value is not None and getattr(p, field) != value:
                    setattr(p, field, value)
                    modified = True
                    effects.extend(_effect(field, p))
            if (coaching, coach_target) != (p.coaching, p.call_sid_to_coach):
                p.coaching, p.call_sid_to_coach = coaching, coach_target
                modified = True
                effects.append(Coach(coaching, coach_target))
            if modified:
                ch.emit(EventType.PARTICIPANT_MODIFIED, p)
            if cmd.announce_url:
                p.announce_url = cmd.announce_url
                effects.append(Announce(cmd.announce_url, cmd.announce_method))
                if not self.telephony.reports_announcements:
                    # No carrier report will come: played once the carrier has taken it.
                    ch.emit(EventType.ANNOUNCEMENT_ENDED, p)
            if effects:
                # The carrier first: its refusal rolls this transaction back.
                target = await call_target(tx, p)
                await self.telephony.apply(Update(target, tuple(dict.fromkeys(effects))))
            await apply(tx, ch)
        await self._committed(ch)
        return p

    async def delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        return await self.changes.run(lambda: self._delete(ref, key, etag))

    async def _delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        async with self.store.write() as tx:
            background.started()
            conf, p = await self._locked(tx, ref, key, etag)
            if not p.active:
                raise errors.participant_not_found(f"participant {key}")
            roster = await read_roster(tx, conf.sid, rules.needs(conf, p, None))
            ch = Changes(conf, self.clock.now())
            rules.kick(ch, roster, p)
            # The carrier first: its refusal rolls this transaction back.
            await self.telephony.apply(Kick(await call_target(tx, p)))
            ch.hangups.remove(p.call_sid)
            await apply(tx, ch)
        await self._committed(ch)
        return p

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


def _effect(field: str, p: Participant) -> list[ParticipantChange]:
    """The carrier effect of a changed participant setting (none for local-only ones)."""
    if field in ("wait_url", "wait_method"):
        return [Wait(p.wait_url, p.wait_method)]
    if field == "beep_on_exit":
        return [BeepOnExit(bool(p.beep_on_exit))]
    if field == "end_conference_on_exit":
        return [EndConferenceOnExit(p.end_conference_on_exit)]
    return []


async def call_target(tx: WriteTransaction, p: Participant) -> CallTarget:
    """The carrier's identities of p's call (its carrier conference as recorded)."""
    carrier = await tx.carrier_call(p.call_sid)
    conference_sid = p.conference_sid if carrier is None else carrier[0]
    return CallTarget(p.account_sid, conference_sid, p.call_sid)


_find_conference = create.find_conference
_check_coach_target = create.check_coach_target
