"""A participant's clocks through the core (in-memory store, simulated carrier,
manual clock): derived at commit from each change's time, live from the
fields plus now, final once the participant has left; a carrier report's own
timestamp wins over when it arrived."""

from __future__ import annotations

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.clocks import live
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.ports.carrier import CallReport, ConferenceEvent, ConferenceReport
from service.core.statuses import CallStatus, ParticipantStatus
from tests.fakes.core import AC, command, simulated_core


async def test_clocks_follow_a_scripted_call_exactly() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core, clock = rig.participants, rig.clock
        t0 = clock.now()
        p, _ = await core.create(command(muted=True))
        ref = ConferenceRef(AC, p.conference_sid)
        assert (p.status, p.status_since, p.queue_since) == (ParticipantStatus.QUEUED, t0, t0)
        assert (p.mute_count, p.mute_since) == (1, t0)  # created muted: muted once
        await clock.advance(1)  # dialed and rang at t0, answered at t0 + 1
        await core.update(ref, p.call_sid, UpdateCommand(muted=False))
        await clock.advance(4)
        await core.update(ref, p.call_sid, UpdateCommand(hold=True))
        await clock.advance(10)
        await core.update(ref, p.call_sid, UpdateCommand(hold=False))
        await clock.advance(5)
        await core.update(ref, p.call_sid, UpdateCommand(hold=True))
        await clock.advance(3)
        now = await core.fetch(ref, p.call_sid, include_ended=False)
        assert now.status is ParticipantStatus.CONNECTED and now.status_since == t0 + 1
        assert (now.queue_seconds, now.queue_since) == (0.0, None)
        assert (now.ring_seconds, now.ring_since) == (1.0, None)
        assert (now.talk_seconds, now.talk_since) == (0.0, t0 + 1)
        assert (now.hold_count, now.hold_seconds, now.hold_since) == (2, 10.0, t0 + 20)
        assert (now.mute_count, now.mute_seconds, now.mute_since) == (1, 1.0, None)
        # Live values from the fields plus now (the proto's rule).
        assert live(now.talk_seconds, now.talk_since, clock.now()) == 22.0
        assert live(now.hold_seconds, now.hold_since, clock.now()) == 13.0
        await core.delete(ref, p.call_sid, "")
        await clock.advance(100)
        ended = await core.fetch(ref, p.call_sid, include_ended=True)
        assert ended.status_since == t0 + 23
        assert (ended.talk_seconds, ended.hold_seconds, ended.hold_count) == (22.0, 13.0, 2)
        assert None is ended.talk_since is ended.hold_since is ended.mute_since
        # Final: the same later.
        assert live(ended.talk_seconds, ended.talk_since, clock.now()) == 22.0


async def test_a_carriers_timestamp_wins_over_when_its_report_arrived() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core, clock = rig.participants, rig.clock
        t0 = clock.now()
        p, _ = await core.create(command())
        await clock.advance(1)
        ref = ConferenceRef(AC, p.conference_sid)
        # A hold the carrier made at t0 + 5, reported (delayed) at t0 + 30.
        await clock.advance(29)
        held = ConferenceReport(
            ConferenceEvent.PARTICIPANT_HOLD, p.conference_sid, 1, t0 + 5, call_sid=p.call_sid
        )
        await core.on_report(held, "h1")
        unheld = ConferenceReport(
            ConferenceEvent.PARTICIPANT_UNHOLD, p.conference_sid, 2, t0 + 9, call_sid=p.call_sid
        )
        await core.on_report(unheld, "h2")
        got = await core.fetch(ref, p.call_sid, include_ended=False)
        assert (got.hold_count, got.hold_seconds, got.hold_since) == (1, 4.0, None)
        ended = CallReport(p.call_sid, CallStatus.COMPLETED, t0 + 12, sequence_number=9)
        await core.on_report(ended, "c9")
        final = await core.fetch(ref, p.call_sid, include_ended=True)
        assert (final.talk_seconds, final.talk_since, final.status_since) == (11.0, None, t0 + 12)
