"""Attributes through the core on the Twilio adapter against the fake carrier:
set on Create, merged or replaced by Update (a participant-modify with no
request to the carrier), held to their bounds, and never sent to the carrier."""

from __future__ import annotations

import pytest

from service.core.commands import ConferenceRef, UpdateCommand
from service.core.errors import RollcallError
from service.core.events import EventType
from tests.fakes.twilio_core import core_on_twilio

SECRET = "attribute-value-the-carrier-must-not-see"


async def test_attributes_stay_rollcalls_and_merge_or_replace() -> None:
    async with core_on_twilio() as rig:
        attrs = {"role": "agent", "crm.id": SECRET}
        p, _ = await rig.participants.create(rig.create_command(attributes=attrs))
        await rig.carrier.let_time_pass(5)
        ref = ConferenceRef(p.account_sid, p.conference_sid)
        assert p.attributes == attrs
        before = len(rig.carrier.requests)
        rig.seen.clear()
        merged = await rig.participants.update(
            ref, p.call_sid, UpdateCommand(attributes={"role": "supervisor", "crm.id": ""})
        )
        assert merged.attributes == {"role": "supervisor"}
        assert [e.type for e in rig.seen] == [EventType.PARTICIPANT_MODIFIED]
        # An attribute change asks nothing of the carrier.
        assert len(rig.carrier.requests) == before
        replaced = await rig.participants.update(
            ref, p.call_sid, UpdateCommand(attributes={"team": SECRET}, replace_attributes=True)
        )
        assert replaced.attributes == {"team": SECRET}
        # The same again changes nothing.
        rig.seen.clear()
        await rig.participants.update(ref, p.call_sid, UpdateCommand(attributes={"team": SECRET}))
        assert rig.seen == []
        # Past the bounds: a typed error, nothing changed.
        many = {f"k{i}": "v" for i in range(17)}
        with pytest.raises(RollcallError) as caught:
            await rig.participants.update(ref, p.call_sid, UpdateCommand(attributes=many))
        assert caught.value.violations[0].field == "attributes"
        got = await rig.participants.fetch(ref, p.call_sid, include_ended=False)
        assert got.attributes == {"team": SECRET}
        # Nothing the carrier got (placing the call, its conference) names them.
        pairs = [pair for r in rig.carrier.requests for pair in (*r.form, *r.query)]
        sent = [value for pair in pairs for value in pair]
        assert rig.carrier.requests and not any(
            SECRET in value or "crm.id" in value or "role" in value for value in sent
        )
