"""A change whose effects the carrier carries out before it is recorded.

What it owns: the loop that Update, Delete and the Conference update share:
decide the change in a write transaction, have the carrier carry out its
effects, record it.

The rules it keeps: the carrier can refuse, so it acts first, and its
refusal changes nothing here. An in-process carrier acts inside the change's
write transaction. A remote one is never waited for inside a transaction:
the change is decided, rolled back, carried out at the carrier, then
decided again on fresh state (the decision knows it is not the first, e.g.
to skip the caller's etag, checked when first decided) and recorded, asking
the carrier only for what it has not carried out yet. A change whose
subject keeps changing meanwhile is refused (ABORTED) after ROUNDS rounds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from service.core import background, errors
from service.core.changes import Changes, apply
from service.core.ports.carrier import Carrier, Effect, Update
from service.core.ports.store import Store, WriteTransaction

T = TypeVar("T")

# Decide-and-carry-out rounds before a change is refused (each round but the
# last asks the carrier for what is left).
ROUNDS = 4


@dataclasses.dataclass
class Decided(Generic[T]):
    """A change, decided: its answer, what to write (None: nothing) and the
    effects the carrier must carry out first."""

    answer: T
    changes: Changes | None
    effects: Sequence[Effect] = ()


Decide = Callable[[WriteTransaction, bool], Awaitable[Decided[T]]]


class _CarrierFirst(Exception):
    """Rolls a write transaction back: the carrier acts first, outside it."""

    def __init__(self, effects: list[Effect]) -> None:
        super().__init__("carrier first")
        self.effects = effects


async def run(store: Store, carrier: Carrier, decide: Decide[T]) -> Decided[T]:
    """Decide, carry out and record (see the module's rules); returns what
    was recorded, whose changes the caller announces."""
    done: set[object] = set()
    for round_ in range(ROUNDS):
        try:
            async with store.write() as tx:
                background.started()
                decided = await decide(tx, round_ == 0)
                pending = _pending(decided.effects, done)
                if pending and not carrier.in_process:
                    raise _CarrierFirst(pending)
                for effect in pending:
                    await carrier.apply(effect)
                if decided.changes is not None:
                    await apply(tx, decided.changes)
        except _CarrierFirst as first:
            for effect in first.effects:
                await carrier.apply(effect)
                done.update(_parts(effect))
            continue
        return decided
    raise errors.carrier_contention()


def _parts(effect: Effect) -> list[object]:
    """What of an effect counts as carried out (an Update: each of its changes)."""
    return list(effect.changes) if isinstance(effect, Update) else [effect]


def _pending(effects: Sequence[Effect], done: set[object]) -> list[Effect]:
    """What of `effects` the carrier has not carried out yet."""
    left: list[Effect] = []
    for effect in effects:
        if isinstance(effect, Update):
            changes = tuple(change for change in effect.changes if change not in done)
            if changes:
                left.append(dataclasses.replace(effect, changes=changes))
        elif effect not in done:
            left.append(effect)
    return left
