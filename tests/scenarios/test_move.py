"""MoveParticipant through the core, on the in-memory store and the simulated
carrier (tests/fakes/core.py): what one move writes, what it refuses, and
how the conference it leaves fares."""

from __future__ import annotations

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.commands import ConferenceRef
from service.core.conferences import ConferenceUpdate
from service.core.errors import RollcallError
from service.core.events import EventType
from service.core.move import MoveCommand
from service.core.statuses import ConferenceStatus, EndReason, ParticipantStatus, Role
from tests.fakes.core import AC, Core, command, simulated_core


def ref(key: str) -> ConferenceRef:
    return ConferenceRef(AC, key)


async def test_one_move_is_one_revision_in_each_conference() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core = rig.participants
        agent, _ = await core.create(command("support", label="agent"))
        customer, _ = await core.create(command("support", label="customer"))
        expert, _ = await core.create(command("expert", label="expert"))
        await rig.clock.advance(2)
        source = await core.conference(ref("support"))
        target = await core.conference(ref("expert"))
        rig.seen.clear()
        moved = await core.participants.move(
            ref("support"),
            "customer",
            MoveCommand(ref("expert"), role=Role.WHISPER, whisper_targets=(expert.call_sid,)),
        )
        p = moved.participant
        assert (p.conference_sid, p.conference_friendly_name) == (target.sid, "expert")
        assert p.status is ParticipantStatus.CONNECTED and p.role is Role.WHISPER
        out, into, started = rig.seen  # two connected there now: it starts
        assert (out.type, into.type, started.type) == (
            EventType.PARTICIPANT_MOVED_OUT,
            EventType.PARTICIPANT_MOVED_IN,
            EventType.CONFERENCE_STARTED,
        )
        assert out.move == into.move == moved.move
        assert (moved.move.from_conference, moved.move.to_conference) == (source.sid, target.sid)
        assert (out.revision, into.revision) == (source.revision + 1, target.revision + 1)
        assert out.participant is not None and out.participant.conference_sid == source.sid
        with pytest.raises(RollcallError):
            await core.fetch(ref("support"), customer.call_sid, include_ended=True)
        assert (await core.fetch(ref("expert"), "customer", include_ended=False)).revision == (
            into.revision
        )
        # The carrier's mixer put the call where the record says, as a whisper.
        _, _, hearing = await core.conferences.hearing(ref("expert"))
        assert hearing == rig.carrier.mixer.hearing(target.sid)
        assert hearing[expert.call_sid] == (customer.call_sid,)
        assert rig.carrier.mixer.hearing(source.sid) == {agent.call_sid: ()}


async def move_to(rig: Core[SimulatedCarrier], key: str, src: str, dst: str) -> None:
    await rig.participants.participants.move(ref(src), key, MoveCommand(ref(dst)))


async def test_a_new_destination_is_created_and_an_empty_source_ends() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core = rig.participants
        only, _ = await core.create(command("lonely", max_participants=7))
        await rig.clock.advance(2)
        await move_to(rig, only.call_sid, "lonely", "fresh")
        source = await core.conference(ref(only.conference_sid))
        assert source.status is ConferenceStatus.COMPLETED
        assert source.end_reason is EndReason.LAST_PARTICIPANT_LEFT
        fresh = await core.conference(ref("fresh"))
        assert fresh.max_participants == 7 and fresh.status is ConferenceStatus.INIT
        assert [e.type for e in rig.seen[-3:]] == [
            EventType.PARTICIPANT_MOVED_OUT,
            EventType.CONFERENCE_ENDED,
            EventType.PARTICIPANT_MOVED_IN,
        ]


async def test_moving_out_is_no_exit_and_a_joiner_can_start_the_destination() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core = rig.participants
        host, _ = await core.create(command("call", end_conference_on_exit=True))
        await core.create(command("call"))
        waiting, _ = await core.create(command("lobby", start_conference_on_enter=False))
        await rig.clock.advance(2)
        await move_to(rig, host.call_sid, "call", "lobby")
        assert (await core.conference(ref("call"))).status is not ConferenceStatus.COMPLETED
        lobby = await core.conference(ref("lobby"))
        assert lobby.status is ConferenceStatus.IN_PROGRESS  # the host starts it
        moved = await core.fetch(ref("lobby"), host.call_sid, include_ended=False)
        assert not moved.end_conference_on_exit
        del waiting


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("full", "CONFERENCE_FULL"),
        ("ended", "CONFERENCE_NOT_ACTIVE"),
        ("label", "LABEL_IN_USE"),
        ("same", "INVALID_ARGUMENT"),
        ("unknown", "CONFERENCE_NOT_FOUND"),
        ("whisper-absent", "COACH_TARGET_NOT_PRESENT"),
    ],
)
async def test_refusals_change_neither_conference(setup: str, reason: str) -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core = rig.participants
        mover, _ = await core.create(command("here", label="same"))
        await core.create(command("here"))
        there, _ = await core.create(command("there", max_participants=3, label="x"))
        await rig.clock.advance(2)
        cmd = MoveCommand(ref(there.conference_sid))
        if setup == "full":
            await core.create(command("there"))
            await core.create(command("there"))
        elif setup == "ended":
            await core.conferences.update(ref("there"), ConferenceUpdate(end=True))
        elif setup == "label":
            await core.create(command("there", label="same"))
        elif setup == "same":
            cmd = MoveCommand(ref("here"))
        elif setup == "unknown":
            cmd = MoveCommand(ref("CF" + "0" * 32))
        elif setup == "whisper-absent":
            cmd = MoveCommand(ref("there"), role=Role.WHISPER, whisper_targets=(mover.call_sid,))
        before = [e.revision for e in await core.store.events(mover.conference_sid, 0, 99)]
        seen = len(rig.seen)
        with pytest.raises(RollcallError) as caught:
            await core.participants.move(ref("here"), "same", cmd)
        assert caught.value.reason == reason
        assert rig.seen[seen:] == []
        after = [e.revision for e in await core.store.events(mover.conference_sid, 0, 99)]
        assert after == before
        assert (await core.fetch(ref("here"), "same", include_ended=False)).active
