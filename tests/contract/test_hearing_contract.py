"""Who hears whom: Rollcall's record and the carrier's media agree, on every carrier.

Each carrier of the port runs the same script through the assembled core
(in-memory store): a monitor created, whispers, barge, mute, hold, Twilio's
own Coaching. After every step the matrix the core derives
(service.core.hearing, from its record) equals the one the carrier keeps from
the effects it got: the simulated carrier's mixer, or the fake Twilio
carrier's calls (by Twilio's documented participant fields, over real HTTP).
Every role change is one event; what a carrier cannot do (two whisper
targets on Twilio) is refused before the carrier hears of it; a monitor
cannot be unmuted. On Twilio, each role's exact form fields are checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.core.commands import ConferenceRef, UpdateCommand
from service.core.errors import RollcallError
from service.core.events import Event, EventType
from service.core.hearing import Matrix
from service.core.records import Participant
from service.core.statuses import ParticipantStatus, Role
from tests.fakes.core import AC, TestCore, command, simulated_core
from tests.fakes.twilio_core import core_on_twilio
from tests.fakes.twilio_harness import ACCOUNT


@dataclasses.dataclass
class Rig:
    core: TestCore
    account: str
    seen: list[Event]
    # Let calls answer and every carrier report arrive.
    settle: Callable[[], Awaitable[None]]
    # The carrier's own matrix for a Rollcall conference.
    carrier_hearing: Callable[[str], Matrix]
    # Forms the carrier received for a call's updates (None: not over HTTP).
    update_forms: Callable[[str], list[list[tuple[str, str]]]] | None = None
    hold_reports: Callable[[bool], None] = lambda hold: None


@contextlib.asynccontextmanager
async def simulated() -> AsyncIterator[Rig]:
    async with simulated_core(SimulatedCarrier) as rig:

        async def settle() -> None:
            await rig.clock.advance(2)

        yield Rig(rig.participants, AC, rig.seen, settle, rig.carrier.mixer.hearing)


@contextlib.asynccontextmanager
async def twilio() -> AsyncIterator[Rig]:
    async with core_on_twilio() as rig:
        network = rig.carrier.network

        def carrier_hearing(conference_sid: str) -> Matrix:
            name = f"rollcall-{conference_sid}"
            (conf,) = [c for c in network.conferences.values() if c.friendly_name == name]
            return network.hearing(conf.sid)

        def update_forms(call_sid: str) -> list[list[tuple[str, str]]]:
            path = f"/Participants/{call_sid}.json"
            return [r.form for r in rig.carrier.requests if r.path.endswith(path)]

        def hold_reports(hold: bool) -> None:
            rig.carrier.holding = hold
            if not hold:
                rig.carrier.release()

        async def settle() -> None:
            await rig.carrier.let_time_pass(5)

        yield Rig(
            rig.participants,
            ACCOUNT,
            rig.seen,
            settle,
            carrier_hearing,
            update_forms,
            hold_reports,
        )


CARRIERS = {"simulated": simulated, "twilio": twilio}


@pytest.fixture(params=sorted(CARRIERS))
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with CARRIERS[request.param]() as made:
        yield made


class Script:
    def __init__(self, rig: Rig, room: Participant) -> None:
        self.rig = rig
        self.ref = ConferenceRef(rig.account, room.conference_sid)

    async def agree(self) -> Matrix:
        await self.rig.settle()
        _, _, ours = await self.rig.core.conferences.hearing(self.ref)
        assert ours == self.rig.carrier_hearing(self.ref.key)
        return ours

    async def update(self, p: Participant, **fields: object) -> Participant:
        """One Update, with the carrier's reports held until it has committed
        (so each event counted here is the Update's own)."""
        before = len(self.rig.seen)
        self.rig.hold_reports(True)
        try:
            updated = await self.rig.core.update(
                self.ref,
                p.call_sid,
                UpdateCommand(**fields),  # type: ignore[arg-type]
            )
        finally:
            self.rig.hold_reports(False)
        self.events = [e.type for e in self.rig.seen[before:]]
        return updated

    async def refused(self, p: Participant, reason: str, **fields: object) -> None:
        forms = self.rig.update_forms(p.call_sid) if self.rig.update_forms else []
        before = len(self.rig.seen)
        with pytest.raises(RollcallError) as caught:
            await self.rig.core.update(self.ref, p.call_sid, UpdateCommand(**fields))  # type: ignore[arg-type]
        assert caught.value.reason == reason
        assert self.rig.seen[before:] == []
        if self.rig.update_forms:
            assert self.rig.update_forms(p.call_sid) == forms  # the carrier never heard of it


def last_form(rig: Rig, p: Participant) -> dict[str, str] | None:
    if rig.update_forms is None:
        return None
    return dict(rig.update_forms(p.call_sid)[-1])


async def test_the_record_and_the_carrier_agree_after_every_step(rig: Rig) -> None:
    make = (
        (lambda **kw: command(**kw))
        if rig.account == AC
        else (lambda **kw: command(conference=ConferenceRef(ACCOUNT, "room"), **kw))
    )
    a, _ = await rig.core.create(make(to_endpoint="+15551230001"))
    b, _ = await rig.core.create(make(to_endpoint="+15551230002"))
    c, _ = await rig.core.create(make(to_endpoint="+15551230003"))
    script = Script(rig, a)
    await rig.settle()
    s, _ = await rig.core.create(make(to_endpoint="+15551230004", role=Role.MONITOR))
    assert s.muted and s.role is Role.MONITOR and not s.coaching
    matrix = await script.agree()
    assert matrix[s.call_sid] == tuple(sorted((a.call_sid, b.call_sid, c.call_sid)))
    assert all(s.call_sid not in matrix[x.call_sid] for x in (a, b, c))

    s = await script.update(s, role=Role.WHISPER, whisper_targets=(a.call_sid,))
    assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED]
    assert (s.coaching, s.call_sid_to_coach, s.muted) == (True, a.call_sid, False)
    assert last_form(rig, s) in (
        None,
        {"Muted": "false", "Coaching": "true", "CallSidToCoach": a.call_sid},
    )
    matrix = await script.agree()
    assert s.call_sid in matrix[a.call_sid] and s.call_sid not in matrix[b.call_sid]

    if rig.account == AC:  # the simulated carrier's mixer whispers to any number
        s = await script.update(s, role=Role.WHISPER, whisper_targets=(a.call_sid, b.call_sid))
        assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED]
        assert s.call_sid in (await script.agree())[b.call_sid]
    else:
        await script.refused(
            s, "CARRIER_WHISPER_LIMIT", role=Role.WHISPER, whisper_targets=(a.call_sid, b.call_sid)
        )

    s = await script.update(s, role=Role.BARGE)
    assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED]
    assert (s.muted, s.coaching) == (False, False)
    assert last_form(rig, s) in (None, {"Muted": "false", "Coaching": "false"})
    assert all(
        s.call_sid in heard for sid, heard in (await script.agree()).items() if sid != s.call_sid
    )

    a = await script.update(a, muted=True)
    assert script.events == [EventType.PARTICIPANT_MUTED]
    await script.agree()

    s = await script.update(s, role=Role.MONITOR)
    assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED] and s.muted
    assert last_form(rig, s) in (None, {"Muted": "true", "Coaching": "false"})
    await script.agree()
    await script.refused(s, "ROLE_FORBIDS_UNMUTE", muted=False)

    b = await script.update(b, hold=True)
    await script.agree()
    await script.refused(
        s, "COACH_TARGET_ON_HOLD", role=Role.WHISPER, whisper_targets=(b.call_sid,)
    )
    b = await script.update(b, hold=False)
    await script.agree()

    # Twilio's own words: Coaching + CallSidToCoach is a whisper to one target.
    s = await script.update(s, coaching=True, call_sid_to_coach=c.call_sid)
    assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED]
    assert (s.role, s.whisper_targets, s.muted) == (Role.WHISPER, (c.call_sid,), False)
    await script.agree()
    s = await script.update(s, coaching=False)
    assert script.events == [EventType.PARTICIPANT_ROLE_CHANGED] and s.role is Role.NONE
    matrix = await script.agree()
    assert s.call_sid in matrix[b.call_sid]
    fetched = await rig.core.fetch(script.ref, s.call_sid, include_ended=False)
    assert fetched.status is ParticipantStatus.CONNECTED and fetched.role is Role.NONE


async def test_twilio_create_forms_for_roles_and_a_refusal_before_dialing() -> None:
    async with core_on_twilio() as rig:
        room = ConferenceRef(ACCOUNT, "room")
        a, _ = await rig.participants.create(command(conference=room))
        b, _ = await rig.participants.create(command(conference=room))
        await rig.carrier.let_time_pass(5)
        await rig.participants.create(command(conference=room, role=Role.MONITOR))
        await rig.participants.create(
            command(conference=room, role=Role.WHISPER, whisper_targets=(a.call_sid,))
        )
        await rig.participants.create(command(conference=room, role=Role.BARGE, muted=True))
        forms = [dict(r.form) for r in rig.carrier.placed()[2:]]
        roles = [(f["Muted"], f.get("Coaching"), f.get("CallSidToCoach")) for f in forms]
        assert roles == [("true", None, None), ("false", "true", a.call_sid), ("true", None, None)]
        placed = len(rig.carrier.placed())
        with pytest.raises(RollcallError) as caught:
            await rig.participants.create(
                command(
                    conference=room, role=Role.WHISPER, whisper_targets=(a.call_sid, b.call_sid)
                )
            )
        assert caught.value.reason == "CARRIER_WHISPER_LIMIT"
        assert "at most 1" in caught.value.message
        assert len(rig.carrier.placed()) == placed  # never dialed
