"""The Twilio adapter's fidelity (issue 25), against the fake carrier: a call the
carrier says is gone is a typed error, changes to a held call are sent with the
Hold that makes them take effect, and reconcile asks for the participant when
the carrier has no Call resource. Real HTTP both ways (tests.fakes.twilio_harness).
"""

from __future__ import annotations

import itertools

import pytest

from service.core.errors import CALL_GONE, Code, RollcallError
from service.core.ports.carrier import (
    CallTarget,
    EndConferenceOnExit,
    Hold,
    Kick,
    Mute,
    OpenCall,
    PlaceCall,
    Placed,
    Update,
)
from service.core.statuses import CallStatus
from tests.fakes.twilio_harness import ACCOUNT, TwilioRig, twilio_rig

TO = "+15551230001"
CONFERENCE = "CF" + "3" * 32
_keys = itertools.count(1)


def a_call() -> PlaceCall:
    return PlaceCall(ACCOUNT, f"f{next(_keys)}", CONFERENCE, "+15005550006", TO, 30, 3600)


def target(placed: Placed) -> CallTarget:
    return CallTarget(ACCOUNT, placed.conference_sid, placed.call_sid)


def form_of(rig: TwilioRig, index: int = -1) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for k, v in rig.carrier.requests[index].form:
        form.setdefault(k, []).append(v)
    return form


async def test_a_call_gone_at_the_carrier_is_call_gone_for_an_update_or_a_needed_kick() -> None:
    async with twilio_rig() as rig:
        placed = await rig.adapter.place(a_call())
        await rig.carrier.let_time_pass(5)
        rig.carrier.network.hang_up(rig.carrier.network.calls[placed.call_sid])
        for effect in (
            Update(target(placed), (Mute(True),)),
            Kick(target(placed), must_exist=True),
        ):
            with pytest.raises(RollcallError) as gone:
                await rig.adapter.apply(effect)
            assert (gone.value.code, gone.value.reason) == (Code.NOT_FOUND, CALL_GONE)
            assert gone.value.metadata == {"call_sid": placed.call_sid}
        # A hangup Rollcall does not need (a clean-up) finds it already done.
        await rig.adapter.apply(Kick(target(placed)))
        # Twilio's "call not in progress" answer says the same.
        live = await rig.adapter.place(a_call())
        await rig.carrier.let_time_pass(5)
        rig.carrier.fail_next("21220", path=f"/{live.call_sid}.json")
        with pytest.raises(RollcallError) as not_in_progress:
            await rig.adapter.apply(Update(target(live), (Hold(True),)))
        assert not_in_progress.value.reason == CALL_GONE


async def test_end_on_exit_on_a_held_call_is_sent_with_hold_and_takes_effect() -> None:
    async with twilio_rig() as rig:
        placed = await rig.adapter.place(a_call())
        await rig.carrier.let_time_pass(5)
        call = rig.carrier.network.calls[placed.call_sid]
        await rig.adapter.apply(Update(target(placed), (Hold(True),)))
        # What Twilio's users report: on its own it is accepted and ignored.
        await rig.adapter.apply(Update(target(placed), (EndConferenceOnExit(True),)))
        assert form_of(rig) == {"EndConferenceOnExit": ["true"]}
        assert not call.end_conference_on_exit
        await rig.adapter.apply(Update(target(placed), (EndConferenceOnExit(True),), held=True))
        assert form_of(rig) == {"Hold": ["true"], "EndConferenceOnExit": ["true"]}
        assert call.end_conference_on_exit and call.hold
        # Unheld in the same change: Hold=false goes as asked, no Hold=true added.
        await rig.adapter.apply(
            Update(target(placed), (Hold(False), EndConferenceOnExit(False)), held=True)
        )
        assert form_of(rig) == {"Hold": ["false"], "EndConferenceOnExit": ["false"]}
        assert not call.end_conference_on_exit and not call.hold


async def test_reconcile_asks_for_the_participant_when_the_carrier_has_no_call_resource() -> None:
    async with twilio_rig() as rig:
        rig.carrier.delivery = "none"
        live = await rig.adapter.place(a_call())
        gone = await rig.adapter.place(a_call())
        await rig.carrier.let_time_pass(5)
        rig.carrier.network.hang_up(rig.carrier.network.calls[gone.call_sid])
        answered = {"to_endpoint": TO, "time_limit_seconds": 3600, "answered_at": 1.0}
        calls = [
            OpenCall(ACCOUNT, "k", CONFERENCE, p.call_sid, p.conference_sid, **answered)  # type: ignore[arg-type]
            for p in (live, gone)
        ]
        for p in (live, gone):  # a carrier serving only the Participants API
            rig.carrier.fail_next("404", method="GET", path=f"/Calls/{p.call_sid}.json")
        reports = await rig.adapter.reconcile(calls)
        assert [(r.call_sid, r.status) for r in reports] == [
            (live.call_sid, CallStatus.IN_PROGRESS),
            (gone.call_sid, CallStatus.COMPLETED),  # answered, then gone: it completed
        ]
        paths = [r.path.rsplit("/", 2)[-2:] for r in rig.carrier.requests if r.method == "GET"]
        assert paths == [
            ["Calls", f"{live.call_sid}.json"],
            ["Participants", f"{live.call_sid}.json"],
            ["Calls", f"{gone.call_sid}.json"],
            ["Participants", f"{gone.call_sid}.json"],
        ]
