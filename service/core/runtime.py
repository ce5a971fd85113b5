"""What every change shares, and the one loop every change runs through.

Rule 1: a change is decided in a write transaction from what it reads; the
        carrier is never called while it decides.
Rule 2: the carrier carries out a change's effects before the change is
        recorded, so a refusal by the carrier changes nothing.
Rule 3: an in-process carrier acts inside the transaction; a remote one
        never does: the transaction is rolled back (or committed, when the
        decision wrote what must outlive a crash, such as a placement), the
        effects are carried out, and the change is decided again on fresh
        state, asking the carrier only for what it has not carried out yet.
Rule 4: a change whose subject keeps changing meanwhile is refused ABORTED
        after ROUNDS rounds. A change over many participants may go on
        without the steps the carrier refused (Change.refused): it is decided
        again without them, so only what the carrier did is recorded.
Rule 5: after the commit, and only then, the calls the change ended are hung
        up at the carrier (a failure is logged: the record stands), unless
        the carrier ends them itself (ends_conference_calls), then its events
        are published on the change feed, once.
Rule 6: the changes of one subject (a participant, a conference name) are
        carried out one at a time on this replica, so the carrier acts in the
        order they are recorded.
Rule 7: when the carrier answers that a change's call has left its conference
        (errors.call_gone), the change is refused with that answer, never
        recorded as done, and the participant is ended first, as a change of
        its own, as the carrier says (call_gone, see lost_calls); a change
        that goes on without a refused step (Change.refused, a bulk update)
        is recorded first, and each such participant ended after it.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from service.clock import Clock
from service.core import background, errors
from service.core.changes import Changes, apply
from service.core.personal import NumberHasher
from service.core.ports.carrier import (
    CallTarget,
    Carrier,
    Effect,
    Kick,
    PlaceCall,
    Placed,
    Update,
)
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Store, WriteTransaction
from service.core.records import AlertRules

log = logging.getLogger("rollcall.core")

T = TypeVar("T")

# Decide-and-carry-out rounds before a change is refused (Rule 4).
ROUNDS = 4

# What the carrier is asked to do for a change: an effect on calls and
# conferences, or a call to place.
Step = Effect | PlaceCall


@dataclasses.dataclass
class Decided(Generic[T]):
    """A change, decided: its answer, what to write (None: nothing), the steps
    the carrier must carry out first, what must be durable before a remote
    carrier acts (`durable`), and how to finish in the same transaction once
    an in-process carrier has acted (`then`, instead of deciding again).
    `more`: the changes to other conferences written in the same transaction
    (a move writes one revision in each of two conferences)."""

    answer: T
    changes: Changes | None
    steps: Sequence[Step] = ()
    durable: Callable[[WriteTransaction], Awaitable[None]] | None = None
    then: Callable[[WriteTransaction], Awaitable[Decided[T]]] | None = None
    more: Sequence[Changes] = ()


class Change(abc.ABC, Generic[T]):
    """One change: how to decide it, and what it hears of the carrier."""

    # The subjects it is serialised on (Rule 6), and whether that is needed
    # when the carrier acts inside the transaction too.
    account_sid: str = ""
    locks: tuple[str, ...] = ()
    locks_in_process: bool = True

    @abc.abstractmethod
    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[T]:
        """Decide on the state `tx` reads; `first` is False once the carrier
        has carried out steps of an earlier round."""

    def carried_out(self, step: Step, placed: Placed | None) -> None:
        """The carrier carried out `step` (`placed`: the call it placed)."""

    def refused(self, step: Step, error: errors.RollcallError) -> bool:
        """The carrier refused `step`: True when the change goes on without it
        (a command over many participants), False (the default) to fail."""
        return False


class _CarrierFirst(Exception):
    """Rolls a write transaction back: a remote carrier acts first, outside it."""

    def __init__(self, steps: list[Step]) -> None:
        super().__init__("carrier first")
        self.steps = steps


class Runtime:
    """The store, carrier, clock and change feed every change uses, the locks
    that order changes of one subject, and the Creates between placing a call
    and recording it (a report for a call not recorded yet waits for them)."""

    def __init__(self, store: Store, carrier: Carrier, clock: Clock, feed: ChangeFeed) -> None:
        self.store = store
        # The keyed hash new participants' numbers are indexed by (the app
        # sets the server's key; by default a key of this process only).
        self.numbers = NumberHasher(secrets.token_bytes(32))
        self.carrier = carrier
        self.clock = clock
        self.feed = feed
        # Every change runs here, apart from its caller (see background).
        self.changes = background.ChangeRunner()
        self.placing: set[asyncio.Future[None]] = set()
        # Ends the participant of a call the carrier says is gone (Rule 7).
        self.call_gone: Callable[[CallTarget], Awaitable[None]] = _nothing_to_end
        # Alert rules of new conferences that name none: by account SID, "*" for all.
        self.alert_defaults: dict[str, AlertRules] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def lock(self, account: str, name: str) -> asyncio.Lock:
        lock = self._locks.get((account, name))
        if lock is None:
            if len(self._locks) > 1024:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[(account, name)] = asyncio.Lock()
        return lock

    async def carry_out(self, change: Change[T]) -> T:
        """Decide, carry out at the carrier, record, announce (the rules above)."""
        names = change.locks if change.locks_in_process or not self.carrier.in_process else ()
        locks = [self.lock(change.account_sid, name) for name in sorted(set(names))]
        for lock in locks:
            await lock.acquire()
        left: _Gone | None = None
        ended: list[CallTarget] = []
        try:
            decided = await self._rounds(change, ended)
            written = [decided.changes] if decided.changes is not None else []
            if written or decided.more:
                await self.committed(*written, *decided.more)
        except _Gone as gone:
            left = gone
        finally:
            for lock in reversed(locks):
                lock.release()
        for target in ended:
            await self.call_gone(target)  # Rule 7, after what went on without it
        if left is not None:
            # Rule 7: the participant ends as its own change, then the refusal.
            await self.call_gone(left.target)
            raise left.error
        return decided.answer

    async def committed(self, *written: Changes) -> None:
        """What a commit promises (Rule 5): hangups, then the announcement (of
        every conference the commit changed, together)."""
        for ch in written:
            kicks = () if self.carrier.ends_conference_calls else ch.kicks
            for target in kicks:
                try:
                    await self.carrier.apply(Kick(target))
                except Exception:
                    log.exception(
                        "carrier hangup failed after commit", extra={"call_sid": target.call_sid}
                    )
        events = [event for ch in written for event in ch.events]
        if events:
            self.feed.publish(events)

    async def _rounds(self, change: Change[T], gone: list[CallTarget]) -> Decided[T]:
        in_process = self.carrier.in_process
        done: set[object] = set()
        for round_ in range(ROUNDS):
            outside: list[Step] = []
            try:
                async with self.store.write() as tx:
                    background.started()
                    decided = await change.decide(tx, round_ == 0)
                    pending = _pending(decided.steps, done)
                    if pending and not in_process:
                        if decided.durable is None:
                            raise _CarrierFirst(pending)
                        await decided.durable(tx)  # committed before the carrier acts
                        outside = pending
                    else:
                        for step in pending:
                            await self._carry(change, step, gone)
                        if pending and decided.then is not None:
                            decided = await decided.then(tx)
                        if decided.changes is not None:
                            await apply(tx, decided.changes, self.numbers)
                        for more in decided.more:
                            await apply(tx, more, self.numbers)
            except _CarrierFirst as first:
                outside = first.steps
            if not outside:
                return decided
            for step in outside:
                if await self._carry(change, step, gone):
                    done.update(_parts(step))
        raise errors.carrier_contention()

    async def _carry(self, change: Change[T], step: Step, gone: list[CallTarget]) -> bool:
        """Carry `step` out; False when the carrier refused it and the change
        goes on without it (Change.refused). A step whose call is gone and
        that the change goes on without adds its call to `gone` (Rule 7)."""
        try:
            placed = await self._step(step)
        except errors.RollcallError as error:
            if not change.refused(step, error):
                raise
            return False
        except _Gone as left:
            if not change.refused(step, left.error):
                raise
            gone.append(left.target)
            return False
        change.carried_out(step, placed)
        return True

    async def _step(self, step: Step) -> Placed | None:
        if isinstance(step, PlaceCall):
            return await self.carrier.place(step)
        try:
            await self.carrier.apply(step)
        except errors.RollcallError as exc:
            if exc.reason == errors.CALL_GONE and isinstance(step, Update | Kick):
                raise _Gone(exc, step.target) from None
            raise
        return None


class _Gone(Exception):
    """The carrier answered that a step's call has left its conference (Rule 7)."""

    def __init__(self, error: errors.RollcallError, target: CallTarget) -> None:
        super().__init__(error.message)
        self.error = error
        self.target = target


async def _nothing_to_end(target: CallTarget) -> None:
    """The default call_gone: nothing to end (assemble wires the real one)."""


def _parts(step: Step) -> list[object]:
    """What of a step counts as carried out (an Update: each of its changes;
    a placed call is the change's own to remember)."""
    if isinstance(step, PlaceCall):
        return []
    return list(step.changes) if isinstance(step, Update) else [step]


def _pending(steps: Sequence[Step], done: set[object]) -> list[Step]:
    """What of `steps` the carrier has not carried out yet."""
    left: list[Step] = []
    for step in steps:
        if isinstance(step, Update):
            changes = tuple(change for change in step.changes if change not in done)
            if changes:
                left.append(dataclasses.replace(step, changes=changes))
        elif isinstance(step, PlaceCall) or step not in done:
            left.append(step)
    return left
