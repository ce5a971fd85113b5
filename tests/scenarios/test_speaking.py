"""Speaking state through the core (in-memory store, simulated carrier's
scripted speech, manual clock): the carrier's speech reports update
`speaking` and `last_spoke_at`, published at most once per participant per
interval with the latest state; the first after a quiet interval at once."""

from __future__ import annotations

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.commands import ConferenceRef
from service.core.events import EventType
from tests.fakes.core import AC, command, simulated_core


async def test_speech_is_coalesced_to_one_event_per_participant_per_interval() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core, clock, carrier = rig.participants, rig.clock, rig.carrier
        one, _ = await core.create(command(label="one"))
        two, _ = await core.create(command(label="two"))
        await clock.advance(1)
        t = clock.now()
        assert carrier.speak(one.call_sid, [(1.0, 0.4), (1.5, 2.0)]) == 4
        assert carrier.speak(two.call_sid, [(1.2, 0.1)]) == 2
        rig.seen.clear()
        await clock.advance(5)
        spoken = [
            (e.time, e.participant.label, e.participant.speaking, e.participant.last_spoke_at)
            for e in rig.seen
            if e.participant is not None
        ]
        assert all(e.type is EventType.PARTICIPANT_SPEAKING for e in rig.seen)
        assert spoken == [
            (t + 1.0, "one", True, t + 1.0),  # the first: at once
            (t + 1.5, "two", False, t + 1.3),  # the rest of that interval, together at t + 2
            (t + 1.5, "one", True, t + 1.5),  # (stop and start again: the latest state)
            (t + 3.5, "one", False, t + 3.5),  # after a quiet interval: at once
        ]
        # The state, as read back.
        ref = ConferenceRef(AC, one.conference_sid)
        got = await core.fetch(ref, one.call_sid, include_ended=False)
        assert (got.speaking, got.last_spoke_at) == (False, t + 3.5)
        # One change for the pair published together.
        assert rig.seen[1].revision + 1 == rig.seen[2].revision


async def test_speech_of_a_call_that_ended_publishes_nothing() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core, clock, carrier = rig.participants, rig.clock, rig.carrier
        p, _ = await core.create(command())
        await clock.advance(1)
        carrier.speak(p.call_sid, [(2.0, 1.0)])
        await core.delete(ConferenceRef(AC, p.conference_sid), p.call_sid, "")
        rig.seen.clear()
        await clock.advance(5)
        assert [e for e in rig.seen if e.type is EventType.PARTICIPANT_SPEAKING] == []
        assert carrier.speak(p.call_sid, [(0.0, 1.0)]) == 0
