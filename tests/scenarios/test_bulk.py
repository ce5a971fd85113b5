"""Commands over many participants through the core: on the simulated carrier
(in process) and on the Twilio carrier against the fake carrier (remote,
over HTTP), where the carrier refusing one participant leaves that one as
it was and the others go on."""

from __future__ import annotations

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.bulk import BulkCommand
from service.core.commands import ConferenceRef
from service.core.events import EventType
from service.core.statuses import Role
from tests.fakes.core import AC, command, simulated_core
from tests.fakes.twilio_core import core_on_twilio
from tests.fakes.twilio_harness import ACCOUNT


async def test_mute_everyone_but_the_presenter_in_one_change() -> None:
    async with simulated_core(SimulatedCarrier) as rig:
        core = rig.participants
        host, _ = await core.create(command("talk", label="host"))
        others = [(await core.create(command("talk", label=f"p{i}")))[0] for i in range(3)]
        boss, _ = await core.create(command("talk", label="boss", role=Role.MONITOR))
        await rig.clock.advance(2)
        ref = ConferenceRef(AC, "talk")
        before = (await core.conference(ref)).revision
        rig.seen.clear()
        outcomes = await core.participants.update_many(
            ref, BulkCommand(("host",), all_except=True, muted=True)
        )
        by_key = {o.key: o for o in outcomes}
        assert set(by_key) == {p.call_sid for p in [*others, boss]}
        assert all(by_key[p.call_sid].changed for p in others)
        assert not by_key[boss.call_sid].changed  # a monitor is muted already
        assert [e.type for e in rig.seen] == [EventType.PARTICIPANT_MUTED] * 3
        assert [e.revision for e in rig.seen] == [before + 1, before + 2, before + 3]
        _, _, hearing = await core.conferences.hearing(ref)
        assert hearing == rig.carrier.mixer.hearing(host.conference_sid)
        assert all(
            heard == (host.call_sid,) for sid, heard in hearing.items() if sid != host.call_sid
        )

        outcomes = await core.participants.update_many(
            ref, BulkCommand(("p0", "nobody", "boss"), muted=False)
        )
        reasons = {o.key: o.error.reason if o.error else None for o in outcomes}
        assert reasons == {
            "p0": None,
            "nobody": "PARTICIPANT_NOT_FOUND",
            "boss": "ROLE_FORBIDS_UNMUTE",
        }
        assert rig.seen[-1].type is EventType.PARTICIPANT_UNMUTED


async def test_on_a_remote_carrier_only_what_it_did_is_recorded() -> None:
    async with core_on_twilio() as rig:
        made = []
        for i in range(3):
            p, _ = await rig.participants.create(
                rig.create_command(room="floor", to_endpoint=f"+1555123000{i + 1}")
            )
            made.append(p)
        await rig.carrier.let_time_pass(5)
        a, b, c = made
        rig.carrier.fail_next("404", path=f"/Participants/{b.call_sid}.json")
        before = len(rig.carrier.requests)
        rig.seen.clear()
        rig.carrier.holding = True  # the carrier's own mute reports come after
        ref = ConferenceRef(ACCOUNT, "floor")
        outcomes = await rig.participants.participants.update_many(
            ref, BulkCommand((a.call_sid, b.call_sid, c.call_sid), hold=True)
        )
        rig.carrier.holding = False
        rig.carrier.release()
        await rig.carrier.settle()
        by_key = {o.key: o for o in outcomes}
        assert by_key[a.call_sid].changed and by_key[c.call_sid].changed
        error = by_key[b.call_sid].error
        assert error is not None and not by_key[b.call_sid].changed
        sent = [dict(r.form) for r in rig.carrier.requests[before:] if r.method == "POST"]
        assert sent == [{"Hold": "true"}] * 3  # one Participant update each
        # The carrier said b's call is gone: it was looked up (a GET) and b
        # ended as the carrier says, as a change of its own after the bulk one.
        looked_up = [r.path for r in rig.carrier.requests[before:] if r.method == "GET"]
        assert looked_up and all(b.call_sid in path for path in looked_up)
        now = {
            p.call_sid: await rig.participants.fetch(ref, p.call_sid, include_ended=True)
            for p in made
        }
        assert {k: (v.hold, v.active) for k, v in now.items()} == {
            a.call_sid: (True, True),
            b.call_sid: (False, False),
            c.call_sid: (True, True),
        }
        mine = [e for e in rig.seen if e.type is EventType.PARTICIPANT_HELD]
        assert sorted(e.participant.call_sid for e in mine if e.participant) == sorted(
            [a.call_sid, c.call_sid]
        )
