"""Move: a participant from its conference to another, in one change.

Rule 1: one write transaction records both sides: the conference it leaves
        gets one revision (PARTICIPANT_MOVED_OUT, the participant as it
        left), the one it joins one revision (PARTICIPANT_MOVED_IN, with the
        settings the move gives: muted, hold, role), so no reader ever finds
        it in both or in neither; both events carry the same Move (its id,
        from, to). A destination named by friendly name and absent is
        created with the source's conference settings.
Rule 2: refused, with neither conference changed: a participant whose call
        has ended, a destination that is its own conference, has ended, is
        full, or has an active participant with its label; the role's rules
        hold in the destination (service.core.roles).
Rule 3: the conferences are locked in SID order (the runtime's locks by
        name, the store's conference rows by SID), so moves between the same
        conferences in both directions never wait on each other in a cycle.
        A destination that appeared meanwhile under the name asked for, or a
        participant that moved meanwhile, is decided again (MoveConflict).
Rule 4: moving out is no exit: the source never ends for the mover's
        endConferenceOnExit; one left with no participant ends, its last
        participant having left. The mover leaves its old settings behind
        (end_conference_on_exit false where it arrives).
Rule 5: the carrier moves the call first (MoveCall); only then is the move
        recorded, so a refusal by the carrier changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses

from service.clock import Clock
from service.core import errors, roles, rules
from service.core.changes import Changes
from service.core.commands import ConferenceRef
from service.core.create import find_conference
from service.core.events import EventType, Move
from service.core.ports.carrier import CallTarget, MoveCall, Placed
from service.core.ports.store import Store, WriteTransaction
from service.core.records import Conference, Participant, new_sid
from service.core.runtime import Change, Decided, Step
from service.core.statuses import ConferenceStatus, EndReason, Role

# Plans a move is decided on before it is refused ABORTED (Rule 3's conflicts).
ATTEMPTS = 4


@dataclasses.dataclass(frozen=True)
class MoveCommand:
    """Where to, and the participant's settings there."""

    destination: ConferenceRef
    muted: bool = False
    hold: bool = False
    role: Role = Role.NONE
    whisper_targets: tuple[str, ...] = ()
    etag: str = ""


@dataclasses.dataclass(frozen=True)
class Moved:
    """A move's answer: the participant where it arrived, and the move."""

    participant: Participant
    move: Move


class MoveConflict(Exception):
    """What was read before locking changed: decide the move again (Rule 3)."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """The two conferences as read before the transaction: their SIDs fix the
    lock order (the destination's None when it is to be created)."""

    source: str
    destination: str | None


async def plan(store: Store, ref: ConferenceRef, key: str, cmd: MoveCommand) -> Plan:
    """Read (without locks) which conferences the move touches."""
    source = await find_conference(store, ref)
    if source is None:
        raise errors.conference_not_found(f"conference {ref.key}")
    found = await find_conference(store, cmd.destination)
    if found is None and cmd.destination.is_sid:
        raise errors.conference_not_found(f"conference {cmd.destination.key}")
    return Plan(source.sid, None if found is None else found.sid)


class MoveChange(Change[Moved]):
    def __init__(
        self,
        clock: Clock,
        whisper_limit: int | None,
        ref: ConferenceRef,
        key: str,
        cmd: MoveCommand,
        planned: Plan,
    ) -> None:
        self.clock = clock
        self.whisper_limit = whisper_limit
        self.ref = ref
        self.key = key
        self.cmd = cmd
        self.plan = planned
        self.account_sid = ref.account_sid
        self.move_id = new_sid("MV")
        # Chosen once: the carrier's conference is named after it before the
        # move is recorded.
        self.new_sid = new_sid("CF")
        # The call as the carrier had it before the move (fixed by the first
        # decision, so a later round asks for the same MoveCall).
        self.target: CallTarget | None = None
        # The carrier has moved the call (then it is recorded, or logged).
        self.carried = False
        names = {planned.source, planned.destination or cmd.destination.key}
        # The participant as named, and both conferences (by SID, or the
        # name a new one gets): the runtime takes them in sorted order.
        self.locks = ("participant:" + key, *(f"conference:{name}" for name in sorted(names)))

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[Moved]:
        account, cmd = self.account_sid, self.cmd
        # Rule 3: lock the conferences in SID order before reading anything.
        sids = sorted(s for s in (self.plan.source, self.plan.destination) if s is not None)
        locked = {sid: await tx.conference(account, sid) for sid in sids}
        source = locked[self.plan.source]
        if source is None:
            raise errors.conference_not_found(f"conference {self.ref.key}")
        p = await tx.participant(source.sid, self.key)
        if p is None:
            raise errors.participant_not_found(f"participant {self.key}")
        if first and cmd.etag and cmd.etag != p.etag:
            raise errors.etag_mismatch(cmd.etag, p.etag)
        if not p.active:
            raise errors.participant_not_active(p.call_sid)
        now = self.clock.now()
        destination, new = await self._destination(tx, source, locked, now)
        await self._check(tx, destination, new, p)
        if self.target is None:
            self.target = await _call_target(tx, p)
        await _moving(tx, p.call_sid, self.target.conference_sid, destination.sid, now)
        move = Move(self.move_id, source.sid, destination.sid)
        step = MoveCall(
            self.target,
            destination.sid,
            _muted(cmd),
            cmd.hold,
            cmd.role,
            cmd.whisper_targets,
            leaving_ends=p.end_conference_on_exit,
        )
        out = Changes(source, now)
        out.emit(EventType.PARTICIPANT_MOVED_OUT, p, move=move)
        if source.active and await tx.count_active(source.sid) <= 1:
            # Its last participant has left (Rule 4).
            source.status = ConferenceStatus.COMPLETED
            source.end_reason = EndReason.LAST_PARTICIPANT_LEFT
            source.call_sid_ending_conference = p.call_sid
            out.emit(EventType.CONFERENCE_ENDED)
        arrived = copy.copy(p)
        arrived.conference_sid = destination.sid
        arrived.conference_friendly_name = destination.friendly_name
        arrived.hold = cmd.hold
        arrived.end_conference_on_exit = False
        roles.apply(arrived, roles.Wanted(cmd.role, cmd.whisper_targets), _muted(cmd))
        into = Changes(destination, now, new_conference=new)
        into.emit(EventType.PARTICIPANT_MOVED_IN, arrived, move=move)
        if not new and destination.status is ConferenceStatus.INIT:
            members = {m.call_sid: m for m in await tx.active_participants(destination.sid)}
            members[arrived.call_sid] = arrived
            rules.maybe_start(into, rules.Roster(len(members), members))
        return Decided(Moved(arrived, move), out, [step], durable=_committed, more=[into])

    def carried_out(self, step: Step, placed: Placed | None) -> None:
        if isinstance(step, MoveCall):
            self.carried = True

    async def _destination(
        self,
        tx: WriteTransaction,
        source: Conference,
        locked: dict[str, Conference | None],
        now: float,
    ) -> tuple[Conference, bool]:
        ref = self.cmd.destination
        sid = self.plan.destination
        if sid is not None:
            found = locked[sid]
            if found is None:
                raise errors.conference_not_found(f"conference {ref.key}")
            if not ref.is_sid and (not found.active or found.friendly_name != ref.key):
                raise MoveConflict()  # it ended meanwhile: a new one of that name
            return found, False
        # Named and absent when planned: created here, unless it appeared.
        if await tx.active_conference_named(self.account_sid, ref.key) is not None:
            raise MoveConflict()
        return (
            Conference(
                sid=self.new_sid,
                account_sid=self.account_sid,
                friendly_name=ref.key,
                status=ConferenceStatus.INIT,
                revision=0,
                max_participants=source.max_participants,
                date_created=now,
                date_updated=now,
                settings=dict(source.settings),
                status_callback=source.status_callback,
                region=source.region,
            ),
            True,
        )

    async def _check(
        self, tx: WriteTransaction, destination: Conference, new: bool, p: Participant
    ) -> None:
        """Rule 2, before anything is decided."""
        cmd = self.cmd
        if destination.sid == p.conference_sid:
            raise errors.invalid_field("destination", "the participant is in that conference")
        if not destination.active:
            raise errors.conference_not_active(destination.sid)
        wanted = roles.Wanted(cmd.role, cmd.whisper_targets)
        roles.check_shape(wanted, self.whisper_limit, p.call_sid)
        if new:
            if cmd.whisper_targets:
                raise errors.coach_target_absent(cmd.whisper_targets[0])
            return
        if await tx.count_active(destination.sid) >= destination.max_participants:
            raise errors.conference_full(destination.sid, destination.max_participants)
        if p.label is not None and await tx.active_label_taken(destination.sid, p.label):
            raise errors.label_in_use(p.label)
        for target in cmd.whisper_targets:
            roles.check_target(await tx.active_participant(destination.sid, target), target)


def _muted(cmd: MoveCommand) -> bool:
    return True if cmd.role is Role.MONITOR else cmd.muted


async def _committed(tx: WriteTransaction) -> None:
    """Nothing more to write before a remote carrier moves the call: what
    decide wrote (the call marked moving) commits with it."""


async def _moving(
    tx: WriteTransaction, call_sid: str, carrier_conference: str, destination: str, now: float
) -> None:
    """Mark the call as moving (Rule 5): its carrier conference is, until the
    carrier's join report names the new one, the destination's Rollcall SID,
    so the reports of the conference it leaves no longer apply to it."""
    carrier = await tx.carrier_call(call_sid)
    if carrier is None or carrier[0] == carrier_conference:
        await tx.save_carrier_call(
            call_sid, destination, None if carrier is None else carrier[1], now
        )


async def restore(store: Store, change: MoveChange, now: float) -> None:
    """After a move the carrier did not carry out: the call is in its old
    carrier conference again, as far as its reports go."""
    target = change.target
    if target is None:
        return
    moving_to = change.plan.destination or change.new_sid
    async with store.write() as tx:
        carrier = await tx.carrier_call(target.call_sid)
        if carrier is not None and carrier[0] == moving_to:
            await tx.save_carrier_call(target.call_sid, target.conference_sid, carrier[1], now)


async def _call_target(tx: WriteTransaction, p: Participant) -> CallTarget:
    carrier = await tx.carrier_call(p.call_sid)
    conference_sid = p.conference_sid if carrier is None else carrier[0]
    return CallTarget(p.account_sid, conference_sid, p.call_sid)
