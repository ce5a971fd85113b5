"""A move through the core on the Twilio carrier, against the fake carrier over HTTP.

The call is redirected with a Calls update carrying <Dial><Conference> TwiML
into the destination's carrier conference; the carrier's leave (from the
conference it left) and join (where it arrived) come back signed over HTTP
and are recognised as the move: no hang-up, no new call, and later effects
go to the new carrier conference. A mover with endConferenceOnExit has it
cleared first, so the conference it leaves does not end; a conference-end of
the source reported after the move (even before the move's own reports)
leaves the mover alone. What the carrier cannot do (hold on a move) is
refused and changes nothing.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from service.core.commands import ConferenceRef, UpdateCommand
from service.core.errors import RollcallError
from service.core.events import EventType
from service.core.move import MoveCommand
from service.core.records import Participant
from service.core.statuses import ParticipantStatus, Role
from tests.fakes.twilio_core import CoreRig, core_on_twilio
from tests.fakes.twilio_harness import ACCOUNT, UPSTREAM


def ref(key: str) -> ConferenceRef:
    return ConferenceRef(ACCOUNT, key)


async def connected(rig: CoreRig, room: str, **fields: Any) -> Participant:
    p, _ = await rig.participants.create(rig.create_command(room=room, **fields))
    await rig.carrier.let_time_pass(5)
    found = await rig.participants.fetch(ref(room), p.call_sid, include_ended=True)
    assert found.status is ParticipantStatus.CONNECTED
    return found


def carrier_conference_of(rig: CoreRig, conference_sid: str) -> str:
    name = f"rollcall-{conference_sid}"
    (sid,) = [c.sid for c in rig.carrier.network.conferences.values() if c.friendly_name == name]
    return sid


async def test_a_move_is_a_redirect_and_its_reports_are_the_move() -> None:
    async with core_on_twilio() as rig:
        agent = await connected(rig, "support", end_conference_on_exit=True)
        customer = await connected(rig, "support", to_endpoint="+15551230002")
        expert = await connected(rig, "expert", to_endpoint="+15551230003")
        before = len(rig.carrier.requests)
        rig.seen.clear()
        moved = await rig.participants.participants.move(
            ref("support"),
            agent.call_sid,
            MoveCommand(ref("expert"), role=Role.WHISPER, whisper_targets=(expert.call_sid,)),
        )
        await rig.carrier.settle()
        sent = [(r.method, r.path, dict(r.form)) for r in rig.carrier.requests[before:]]
        old_cf = carrier_conference_of(rig, customer.conference_sid)
        new_cf = carrier_conference_of(rig, expert.conference_sid)
        assert sent[0] == (
            "POST",
            f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{old_cf}"
            f"/Participants/{agent.call_sid}.json",
            {"EndConferenceOnExit": "false"},  # leaving is no exit
        )
        method, path, form = sent[1]
        assert (method, path) == (
            "POST",
            f"/2010-04-01/Accounts/{UPSTREAM}/Calls/{agent.call_sid}.json",
        )
        assert list(form) == ["Twiml"]
        node = ElementTree.fromstring(form["Twiml"]).find("./Dial/Conference")  # noqa: S314
        assert node is not None and node.text == f"rollcall-{expert.conference_sid}"
        assert node.get("coach") == expert.call_sid and node.get("muted") == "false"
        assert node.get("statusCallback", "").endswith("/carrier/twilio/conference-status")
        # Both sides stay as the move left them: no hang-up, nobody else gone.
        assert [
            e.type for e in rig.seen if e.participant and e.participant.call_sid == agent.call_sid
        ] == [
            EventType.PARTICIPANT_MOVED_OUT,
            EventType.PARTICIPANT_MOVED_IN,
        ]
        there = await rig.participants.fetch(ref("expert"), agent.call_sid, include_ended=False)
        assert (
            there.status is ParticipantStatus.CONNECTED
            and there.revision == moved.participant.revision
        )
        here = await rig.participants.fetch(ref("support"), customer.call_sid, include_ended=False)
        assert here.status is ParticipantStatus.CONNECTED
        # Later effects go to the carrier conference the join named.
        before = len(rig.carrier.requests)
        await rig.participants.update(ref("expert"), agent.call_sid, UpdateCommand(muted=True))
        assert rig.carrier.requests[before].path.endswith(
            f"/Conferences/{new_cf}/Participants/{agent.call_sid}.json"
        )


async def test_the_source_ending_after_the_move_leaves_the_mover_alone() -> None:
    async with core_on_twilio() as rig:
        agent = await connected(rig, "desk", end_conference_on_exit=True)
        customer = await connected(rig, "desk", to_endpoint="+15551230002")
        await connected(rig, "transfer", to_endpoint="+15551230003")
        rig.carrier.holding = True
        await rig.participants.participants.move(
            ref("desk"), customer.call_sid, MoveCommand(ref("transfer"))
        )
        rig.carrier.network.hang_up(rig.carrier.network.calls[agent.call_sid])
        rig.carrier.holding = False
        rig.carrier.release(reverse=True)  # the source's end before the move's reports
        await rig.carrier.settle()
        desk = await rig.participants.conference(ref(agent.conference_sid))
        assert not desk.active
        p = await rig.participants.fetch(ref("transfer"), customer.call_sid, include_ended=False)
        assert p.status is ParticipantStatus.CONNECTED


async def test_what_the_carrier_cannot_do_changes_nothing() -> None:
    async with core_on_twilio() as rig:
        mover = await connected(rig, "a")
        await connected(rig, "b", to_endpoint="+15551230002")
        before = len(rig.carrier.requests)
        with pytest.raises(RollcallError) as caught:
            await rig.participants.participants.move(
                ref("a"), mover.call_sid, MoveCommand(ref("b"), hold=True)
            )
        assert caught.value.reason == "CARRIER_CANNOT"
        assert rig.carrier.requests[before:] == []
        p = await rig.participants.fetch(ref("a"), mover.call_sid, include_ended=False)
        assert p.conference_sid == mover.conference_sid and p.revision == mover.revision
        # Its effects still reach the carrier conference it is in.
        await rig.participants.update(ref("a"), mover.call_sid, UpdateCommand(muted=True))
        assert rig.carrier.requests[before].path.endswith(
            f"/Conferences/{carrier_conference_of(rig, mover.conference_sid)}"
            f"/Participants/{mover.call_sid}.json"
        )
