"""A carrier that fails: before a change commits it refuses the change (a
Create that cannot be placed, a Delete whose kick the carrier refuses change
nothing and raise), and after one committed (a call ended as a consequence)
it cannot undo it: the change is still announced. Real SQLite store, the
simulated carrier with its place and kick made to fail (a faulty adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.carriers.twilio import errors
from service.clock import ManualClock
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.errors import RollcallError
from service.core.events import Event, EventType
from service.core.ports.carrier import Effect, Kick, PlaceCall, Placed, Update
from service.core.statuses import ParticipantStatus
from tests.fakes.core import AC, command, simulated_core
from tests.fakes.core import TestCore as Participants


class FaultyCarrier(SimulatedCarrier):
    """The simulator, except that placing or kicking chosen calls can be made to raise."""

    fail_place = False
    fail_kick: frozenset[str] = frozenset()
    fail_update: frozenset[str] = frozenset()

    async def place(self, call: PlaceCall) -> Placed:
        if self.fail_place:
            raise errors.carrier_unavailable("carrier unreachable")
        return await super().place(call)

    async def apply(self, effect: Effect) -> None:
        if isinstance(effect, Kick) and effect.target.call_sid in self.fail_kick:
            raise errors.carrier_unavailable("carrier unreachable")
        if isinstance(effect, Update) and effect.target.call_sid in self.fail_update:
            raise errors.from_carrier(400, {"code": 21220, "message": "not in progress"})
        await super().apply(effect)


# The carrier in process (effects inside the change's transaction) and remote
# (carried out between a first decision and the one recorded).
@pytest.fixture(params=[True, False], ids=["in_process", "remote"])
async def core(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Participants, FaultyCarrier, list[Event]]]:
    async with simulated_core(FaultyCarrier) as rig:
        rig.carrier.in_process = request.param
        yield rig.participants, rig.carrier, rig.seen


async def test_a_call_the_carrier_cannot_place_changes_nothing(
    core: tuple[Participants, FaultyCarrier, list[Event]],
) -> None:
    participants, carrier, seen = core
    carrier.fail_place = True
    with pytest.raises(RollcallError) as refused:
        await participants.create(command())
    assert refused.value.reason == "CARRIER_UNAVAILABLE"
    assert seen == []
    with pytest.raises(RollcallError):
        await participants.conference(ConferenceRef(AC, "room"))


async def test_a_kick_the_carrier_refuses_changes_nothing(
    core: tuple[Participants, FaultyCarrier, list[Event]],
) -> None:
    participants, carrier, seen = core
    created, _ = await participants.create(command())
    carrier.fail_kick = frozenset({created.call_sid})
    seen.clear()
    ref = ConferenceRef(AC, created.conference_sid)
    # Its dialing may be recorded with the Create (the Create answers queued).
    before = await participants.fetch(ref, created.call_sid, include_ended=False)
    with pytest.raises(RollcallError):
        await participants.delete(ref, created.call_sid, "")
    assert seen == []
    stored = await participants.fetch(ref, created.call_sid, include_ended=True)
    assert stored.active and stored.revision == before.revision


async def test_a_mute_the_carrier_refuses_changes_nothing(
    core: tuple[Participants, FaultyCarrier, list[Event]],
) -> None:
    participants, carrier, seen = core
    created, _ = await participants.create(command())
    carrier.fail_update = frozenset({created.call_sid})
    seen.clear()
    ref = ConferenceRef(AC, created.conference_sid)
    before = await participants.fetch(ref, created.call_sid, include_ended=False)
    with pytest.raises(RollcallError) as refused:
        await participants.update(ref, created.call_sid, UpdateCommand(muted=True))
    assert refused.value.twilio_code == 21220
    assert seen == []
    stored = await participants.fetch(ref, created.call_sid, include_ended=True)
    assert not stored.muted and stored.revision == before.revision
    # The etag is checked when the change is decided, before the carrier acts.
    carrier.fail_update = frozenset()
    with pytest.raises(RollcallError) as stale:
        await participants.update(ref, created.call_sid, UpdateCommand(muted=True, etag="x"))
    assert stale.value.reason == "ETAG_MISMATCH"
    muted = await participants.update(
        ref, created.call_sid, UpdateCommand(muted=True, etag=stored.etag)
    )
    assert muted.muted and [e.type for e in seen] == [EventType.PARTICIPANT_MUTED]


async def test_a_hangup_failing_after_commit_still_announces(
    core: tuple[Participants, FaultyCarrier, list[Event]],
) -> None:
    participants, carrier, seen = core
    host, _ = await participants.create(command(end_conference_on_exit=True))
    guest, _ = await participants.create(command())
    clock = participants.clock
    assert isinstance(clock, ManualClock)
    await clock.advance(2.0)  # both answered
    carrier.fail_kick = frozenset({guest.call_sid})  # the guest's hangup fails
    seen.clear()
    await participants.delete(ConferenceRef(AC, host.conference_sid), host.call_sid, "")
    kinds = [e.type for e in seen]
    assert kinds == [
        EventType.PARTICIPANT_LEFT,
        EventType.PARTICIPANT_LEFT,
        EventType.CONFERENCE_ENDED,
    ]
    g = await participants.fetch(
        ConferenceRef(AC, host.conference_sid), guest.call_sid, include_ended=True
    )
    assert g.status is ParticipantStatus.COMPLETE
