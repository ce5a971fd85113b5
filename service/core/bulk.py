"""Mute, unmute, hold or unhold a list of participants, or all but a list, in one request.

Rule 1: one change, one write transaction: every participant it changes is
        one event (one revision each, consecutive: no other change of the
        conference falls between them); a participant already as asked is
        no change.
Rule 2: the carrier carries each participant's effect out first; one it
        refuses is left as it was and answered with the carrier's error,
        the others go on, so only what the carrier did is recorded.
Rule 3: a participant named that is not an active one of the conference is
        answered not found; `all_except` names those to leave alone.
Rule 4: a monitor cannot be unmuted (service.core.roles): answered with that
        error, the others go on.
"""

from __future__ import annotations

import dataclasses

from service.clock import Clock
from service.core import errors, roles, update
from service.core.changes import Changes
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.create import find_conference
from service.core.ports.carrier import CallTarget, Update
from service.core.ports.store import WriteTransaction
from service.core.records import Participant
from service.core.runtime import Change, Decided, Step
from service.core.statuses import Role


@dataclasses.dataclass(frozen=True)
class BulkCommand:
    keys: tuple[str, ...]  # call SIDs or labels
    all_except: bool = False
    muted: bool | None = None
    hold: bool | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One participant's answer: as it is after the change, or why not."""

    key: str
    participant: Participant | None = None
    error: errors.RollcallError | None = None
    changed: bool = False


class BulkChange(Change[list[Outcome]]):
    def __init__(self, clock: Clock, ref: ConferenceRef, cmd: BulkCommand, announced: bool) -> None:
        self.clock = clock
        self.ref = ref
        self.cmd = cmd
        self.announced = announced
        self.account_sid = ref.account_sid
        self.locks = ("conference:" + ref.key,)
        # Call SID -> what the carrier refused for it (Rule 2).
        self.refusals: dict[str, errors.RollcallError] = {}

    def refused(self, step: Step, error: errors.RollcallError) -> bool:
        if not isinstance(step, Update):
            return False
        self.refusals[step.target.call_sid] = error
        return True

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[list[Outcome]]:
        conf = await find_conference(tx, self.ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {self.ref.key}")
        if not conf.active:
            raise errors.conference_not_active(conf.sid)
        members = await tx.active_participants(conf.sid)
        chosen = _choose(members, self.cmd)
        ch = Changes(conf, self.clock.now())
        cmd = UpdateCommand(muted=self.cmd.muted, hold=self.cmd.hold)
        outcomes: list[Outcome] = []
        steps: list[Step] = []
        for key, p in chosen:
            if p is None:
                outcomes.append(Outcome(key, error=errors.participant_not_found(key)))
                continue
            refusal = self.refusals.get(p.call_sid)
            if refusal is None and p.role is Role.MONITOR and cmd.muted is False:
                refusal = roles.role_forbids_unmute()
            if refusal is not None:
                outcomes.append(Outcome(key, p, refusal))
                continue
            revision = p.revision
            effects = await update.decide(
                tx, ch, conf, p, cmd, announcement_reported=self.announced, whisper_limit=None
            )
            if effects:
                target = await _target(tx, p)
                steps.append(Update(target, effects))
            outcomes.append(Outcome(key, p, changed=p.revision != revision))
        then = (lambda tx: self.decide(tx, False)) if steps else None
        return Decided(outcomes, ch, steps, then=then)


def _choose(members: list[Participant], cmd: BulkCommand) -> list[tuple[str, Participant | None]]:
    """The participants the command is for, by the key that named them."""

    def named(p: Participant, key: str) -> bool:
        return key in (p.call_sid, p.label)

    if cmd.all_except:
        return [(p.call_sid, p) for p in members if not any(named(p, key) for key in cmd.keys)]
    chosen: dict[str, tuple[str, Participant | None]] = {}
    for key in cmd.keys:
        found = next((p for p in members if named(p, key)), None)
        chosen[found.call_sid if found else key] = (key, found)
    return list(chosen.values())


async def _target(tx: WriteTransaction, p: Participant) -> CallTarget:
    carrier = await tx.carrier_call(p.call_sid)
    return CallTarget(
        p.account_sid, p.conference_sid if carrier is None else carrier[0], p.call_sid
    )
