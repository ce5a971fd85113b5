"""A move with a remote carrier: the carrier moves the call between the two
transactions of the change, and what its reports say meanwhile is taken as
it comes. The simulated carrier marked remote (in_process=False): while it
moves the call, the conference being left ends at the carrier (its
endConferenceOnExit participant hung up) and that conference-end lands
first; the mover is not ended with it. A move the carrier refuses changes
nothing, and the call's effects still reach the conference it is in."""

from __future__ import annotations

import asyncio

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core import errors
from service.core.commands import ConferenceRef
from service.core.errors import RollcallError
from service.core.move import MoveCommand
from service.core.ports.carrier import (
    ConferenceEvent,
    ConferenceReport,
    Effect,
    MoveCall,
)
from service.core.statuses import ConferenceStatus, EndReason, ParticipantStatus
from tests.fakes.core import AC, command, simulated_core
from tests.fakes.core import TestCore as Participants

BOUND_SECONDS = 10.0


class RemoteCarrier(SimulatedCarrier):
    """The simulator as a remote carrier; while it moves a call, the conference
    the call leaves ends (`end_source`), or it refuses the move (`refuse`)."""

    in_process = False
    participants: Participants | None = None
    end_source = False
    refuse = False

    async def apply(self, effect: Effect) -> None:
        if isinstance(effect, MoveCall):
            if self.refuse:
                raise errors.participant_not_active(effect.target.call_sid)
            if self.end_source:
                assert self.participants is not None
                source = effect.target.conference_sid
                report = ConferenceReport(
                    ConferenceEvent.CONFERENCE_END, source, 7, 50.0,
                    end_reason="participant-with-end-conference-on-exit-left",
                    rollcall_conference=source,
                )  # fmt: skip
                # A write of its own: bounded, as it would wait forever if the
                # move held its write transaction.
                async with asyncio.timeout(BOUND_SECONDS):
                    await self.participants.on_report(report)
        await super().apply(effect)


def ref(key: str) -> ConferenceRef:
    return ConferenceRef(AC, key)


async def test_the_source_ending_while_the_carrier_moves_the_call_does_not_lose_it() -> None:
    async with simulated_core(RemoteCarrier) as rig:
        rig.carrier.participants = rig.participants
        core = rig.participants
        agent, _ = await core.create(command("desk", end_conference_on_exit=True))
        customer, _ = await core.create(command("desk", to_endpoint="+15551230002"))
        await core.create(command("queue", to_endpoint="+15551230003"))
        await rig.clock.advance(2)
        rig.carrier.end_source = True
        moved = await core.participants.move(
            ref("desk"), customer.call_sid, MoveCommand(ref("queue"))
        )
        desk = await core.conference(ref(agent.conference_sid))
        assert desk.status is ConferenceStatus.COMPLETED
        assert desk.end_reason is EndReason.EOE_LEFT
        ended = await core.fetch(ref(agent.conference_sid), agent.call_sid, include_ended=True)
        assert not ended.active
        there = await core.fetch(ref("queue"), customer.call_sid, include_ended=False)
        assert there.status is ParticipantStatus.CONNECTED
        assert there.revision == moved.participant.revision


async def test_a_move_the_carrier_refuses_changes_nothing() -> None:
    async with simulated_core(RemoteCarrier) as rig:
        rig.carrier.participants = rig.participants
        core = rig.participants
        mover, _ = await core.create(command("a"))
        await core.create(command("b", to_endpoint="+15551230002"))
        await rig.clock.advance(2)
        rig.carrier.refuse = True
        with pytest.raises(RollcallError) as caught:
            await core.participants.move(ref("a"), mover.call_sid, MoveCommand(ref("b")))
        assert caught.value.reason == "PARTICIPANT_NOT_ACTIVE"
        p = await core.fetch(ref("a"), mover.call_sid, include_ended=False)
        assert p.conference_sid == mover.conference_sid
        # The call is recorded in its carrier conference again, not as moving.
        async with core.store.write() as tx:
            carrier = await tx.carrier_call(p.call_sid)
        assert carrier is not None and carrier[0] == mover.conference_sid
