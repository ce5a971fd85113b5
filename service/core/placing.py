"""Create's use case: decide, place the call at the carrier, record it.

The rules it keeps: a carrier's refusal records nothing; a call placed but
not recordable (the conference filled or ended meanwhile, the store failed)
is ended at the carrier, so it never rings on unrecorded; a repeated
request_id returns the first participant and never dials again. An
in-process carrier is asked inside the Create's one write transaction
(decide, place and record together). A remote one is never waited for
inside a transaction: the Create is decided, the call placed, and then
decided again and recorded; the call joins the carrier conference named
after the Rollcall conference decided first, and if the one it is recorded
in differs (another replica created the conference of that name meanwhile,
or it ended and another began), the call is ended and placed again, so a
Rollcall conference is one carrier conference.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from service.core import background, create, errors, placements
from service.core.changes import Changes, apply
from service.core.commands import CreateCommand
from service.core.model import Conference, EventType, Participant
from service.core.ports.carrier import CallTarget, Kick, Placed
from service.core.ports.store import WriteTransaction

if TYPE_CHECKING:
    from service.core.usecases import Participants

log = logging.getLogger("rollcall.core")

# A Create's outcome: the change to announce (None: a repeated request_id),
# the participant and the carrier's queue time in ms.
_Created = tuple[Changes | None, Participant, float | None]
# Attempts to place a Create's call into the right carrier conference.
_PLACE_ROUNDS = 3


class _WrongConference(Exception):
    """Rolls back recording a call placed into another conference's carrier conference."""


async def create_participant(
    ps: Participants, cmd: CreateCommand
) -> tuple[Participant, float | None]:
    """Returns the participant and its queue time in ms (None on a repeat)."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ps.placing.add(done)  # a report for a call placed but not yet recorded waits
    try:
        if ps.carrier.in_process:
            ch, participant, queue_ms = await _at_once(ps, cmd)
        else:
            ch, participant, queue_ms = await _remote_locked(ps, cmd)
    finally:
        ps.placing.discard(done)
        done.set_result(None)
    if ch is not None:
        await ps._committed(ch)
    return participant, queue_ms


async def _at_once(ps: Participants, cmd: CreateCommand) -> _Created:
    """An in-process carrier: decide, place and record in one transaction."""
    placed: Placed | None = None
    try:
        async with ps.store.write() as tx:
            decided = await _decide(ps, tx, cmd)
            if isinstance(decided, Participant):
                return None, decided, None
            conf, new, now = decided
            placed = await ps.carrier.place(create.place_call(cmd, create.call_key(cmd), conf.sid))
            ch, participant = await _record(tx, cmd, conf, new, placed, now)
    except BaseException:
        if placed is not None:
            await _end_unrecorded(ps, cmd.conference.account_sid, placed)
        raise
    return ch, participant, placed.queue_time_ms


async def _remote_locked(ps: Participants, cmd: CreateCommand) -> _Created:
    # One Create at a time per conference name on this replica (so a new
    # conference is created once, and its carrier conference named once) and
    # per request_id.
    account = cmd.conference.account_sid
    keys = sorted({("conference", cmd.conference.key), ("request", cmd.request_id)})
    locks = [ps.lock(account, kind + ":" + value) for kind, value in keys if value]
    for lock in locks:
        await lock.acquire()
    try:
        return await _remote(ps, cmd)
    finally:
        for lock in reversed(locks):
            lock.release()


async def _remote(ps: Participants, cmd: CreateCommand) -> _Created:
    """A remote carrier: decide, place outside any transaction, then record."""
    for _ in range(_PLACE_ROUNDS):
        key = create.call_key(cmd)
        async with ps.store.write() as tx:
            decided = await _decide(ps, tx, cmd)
            if isinstance(decided, Participant):
                return None, decided, None
            conf, new, now = decided
            # Durable before dialing: a process that dies before recording
            # the call leaves it for the next start to end (see placements).
            await tx.record_placement(key, cmd.conference.account_sid, conf.sid, now)
        try:
            placed = await ps.carrier.place(create.place_call(cmd, key, conf.sid))
        except BaseException as exc:
            if placements.refused(exc):
                await placements.forget(ps, key)
            raise
        try:
            now = ps.clock.now()
            async with ps.store.write() as tx:
                repeat = await _repeat(tx, cmd)
                if repeat is None:
                    joined, new = await create.decide(tx, cmd, now, conf.sid if new else None)
                    if joined.sid != conf.sid:
                        raise _WrongConference()
                    ch, participant = await _record(tx, cmd, joined, new, placed, now)
                if repeat is None or repeat.call_sid == placed.call_sid:
                    await tx.forget_placement(key)
        except _WrongConference:
            await _end_unrecorded(
                ps, account_sid=cmd.conference.account_sid, placed=placed, key=key
            )
            continue  # nothing was recorded: place it again, into that conference
        except BaseException:
            await _end_unrecorded(ps, cmd.conference.account_sid, placed, key)
            raise
        if repeat is not None:
            if repeat.call_sid != placed.call_sid:
                # Another replica recorded this request_id meanwhile with a
                # call of its own (a carrier that knows the label gives both
                # the same call): that one stands, ours must not ring on.
                await _end_unrecorded(ps, repeat.account_sid, placed, key)
            return None, repeat, None
        return ch, participant, placed.queue_time_ms
    raise errors.carrier_contention()


async def _end_unrecorded(
    ps: Participants, account_sid: str, placed: Placed, key: str | None = None
) -> None:
    """End a call placed but not recorded; then forget its placement (`key`),
    unless the carrier could not end it (the next recovery tries again)."""
    target = CallTarget(account_sid, placed.conference_sid, placed.call_sid)
    try:
        await ps.carrier.apply(Kick(target))
    except Exception:
        log.exception("could not end a call that was not recorded")
        return
    if key is not None:
        await placements.forget(ps, key)


async def _record(
    tx: WriteTransaction,
    cmd: CreateCommand,
    conf: Conference,
    new: bool,
    placed: Placed,
    now: float,
) -> tuple[Changes, Participant]:
    """Write the participant of a placed call (and the conference, when new)."""
    ch = Changes(conf, now, new_conference=new)
    participant = create.participant(cmd, conf, placed.call_sid, now)
    ch.emit(EventType.CALL_STATUS_CHANGED, participant, new=True)
    await apply(tx, ch)
    if cmd.request_id:
        await tx.record_request(
            cmd.conference.account_sid, cmd.request_id, placed.call_sid, cmd.fingerprint
        )
    await tx.save_carrier_call(placed.call_sid, placed.conference_sid, None)
    return ch, participant


async def _decide(
    ps: Participants, tx: WriteTransaction, cmd: CreateCommand
) -> Participant | tuple[Conference, bool, float]:
    """A Create's transaction begins: the participant of an earlier Create with
    this request_id (a repeat), or (conference, whether new, now) decided."""
    background.started()
    repeat = await _repeat(tx, cmd)
    if repeat is not None:
        return repeat
    now = ps.clock.now()
    conf, new = await create.decide(tx, cmd, now, None)
    return conf, new, now


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
