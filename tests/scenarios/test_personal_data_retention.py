"""Personal data past its window is redacted in place by Rollcall's retention
rule, per account where configured; the carrier's and Rollcall's own changes
name them as actors. The real core on the in-memory store and the simulated
carrier, on a manual clock."""

from __future__ import annotations

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core import actors
from service.core.audit import AuditFilter
from service.core.commands import ConferenceRef
from service.core.events import EventType
from service.core.privacy import PersonalRetention
from tests.fakes.core import AC, command, simulated_core

NUMBER = "+15557770101"
HOUR = 3600.0


async def test_retention_redacts_ended_participants_past_their_window() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core, clock = rig.participants, rig.clock
        privacy = core.core.privacy
        with actors.as_actor(actors.Actor(actors.ActorKind.ACCOUNT, AC, face="grpc")):
            ann, _ = await core.create(command(to_endpoint=NUMBER, label="ann"))
            bob, _ = await core.create(command(label="bob"))
        await clock.advance(1)  # the carrier answers both
        ref = ConferenceRef(AC, ann.conference_sid)
        with actors.as_actor(actors.Actor(actors.ActorKind.API_KEY, "SK" + "c" * 32)):
            await core.delete(ref, ann.call_sid, "")
        keep_for_ever = PersonalRetention(privacy, HOUR, {AC: 0.0})
        hourly = PersonalRetention(privacy, HOUR)
        assert await hourly.run() == 0  # inside its window
        await clock.advance(HOUR + 1)
        assert await keep_for_ever.run() == 0  # the account's own window: for ever
        revision = (await core.conference(ref)).revision
        assert await hourly.run() == 1
        assert await hourly.run() == 0  # once
        gone = await core.fetch(ref, ann.call_sid, include_ended=True)
        assert (gone.to_endpoint, gone.label, gone.revision) == ("", None, revision + 1)
        still = await core.fetch(ref, bob.call_sid, include_ended=True)
        assert still.label == "bob"  # live: never redacted
        assert not await privacy.lookup(AC, NUMBER)
        redacted = rig.seen[-1]
        assert redacted.type is EventType.PARTICIPANT_REDACTED
        assert redacted.actor == actors.rule(actors.RETENTION)

        # Who did what: the account created, the carrier answered, the key
        # kicked, the last-participant rule did not fire (bob is still in),
        # and the retention rule redacted.
        trail = await rig.participants.store.audit_records(
            AC, AuditFilter(resource=ann.call_sid), before_id=None, limit=50
        )
        by_type = {r.event_type: r.actor for r in reversed(trail)}
        assert by_type["call-status-changed"].kind is actors.ActorKind.CARRIER
        assert by_type["participant-join"].kind is actors.ActorKind.CARRIER
        assert by_type["participant-leave"].kind is actors.ActorKind.API_KEY
        assert by_type["participant-redacted"].rule == actors.RETENTION
        first = trail[-1]
        assert (first.actor.kind, first.actor.face) == (actors.ActorKind.ACCOUNT, "grpc")
