"""Call progress steps that are due together, recorded in one change.

What it owns: taking several of one call's dialer steps at once (typically
`initiated` then `ringing`, both due the moment a call is placed) and
applying them, in order, inside one store write transaction: each step is
still its own revision with its own event, exactly as if each had come alone,
but the batch costs one transaction instead of one per step.

The rules it keeps: the steps are applied in the order given and stop at the
first one that finds the participant no longer active (as a lone step would
be ignored); the events are announced, and hang-ups sent, once the
transaction has committed, step by step in revision order; like every
dialer step the batch runs apart from any caller (Participants.on_progress).
"""

from __future__ import annotations

from service.core import background, rules
from service.core.changes import Changes
from service.core.usecases import Participants
from service.dialer.port import CallProgress


async def on_progress_steps(
    participants: Participants, call_sid: str, steps: list[tuple[CallProgress, float]]
) -> None:
    """Called from the dialer's timers, which no caller cancels."""
    await participants.changes.track(lambda: _apply(participants, call_sid, steps))


async def _apply(
    participants: Participants, call_sid: str, steps: list[tuple[CallProgress, float]]
) -> None:
    done: list[Changes] = []
    async with participants.store.write() as tx:
        background.started()
        p = await tx.participant_by_call_sid(call_sid)
        if p is None:
            return
        conf = await tx.conference(p.account_sid, p.conference_sid)
        assert conf is not None
        for progress, at in steps:
            if not p.active:
                break
            ch = Changes(tx, conf, max(at, p.date_updated))
            await rules.apply_progress(ch, p, progress)
            await ch.finish()
            done.append(ch)
    for ch in done:
        await participants._committed(ch)
