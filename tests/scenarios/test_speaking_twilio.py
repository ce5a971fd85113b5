"""Speech reports through the Twilio adapter's ingest (signed callbacks to a
real HTTP route, the fake carrier's conference): the carrier's own Timestamp
becomes last_spoke_at, and a speech callback retried changes nothing."""

from __future__ import annotations

from service.carriers.twilio.ingest import CONFERENCE_STATUS_PATH
from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.events import EventType
from service.core.records import Participant
from tests.fakes.carrier_state import rfc2822
from tests.fakes.twilio_core import CoreRig, core_on_twilio
from tests.fakes.twilio_harness import UPSTREAM, post


def speech(rig: CoreRig, p: Participant, seq: int, event: str, at: float) -> dict[str, str]:
    (conference,) = [
        c.sid
        for c in rig.carrier.network.conferences.values()
        if c.friendly_name == f"rollcall-{p.conference_sid}"
    ]
    return {
        "AccountSid": UPSTREAM,
        "ConferenceSid": conference,
        "FriendlyName": f"rollcall-{p.conference_sid}",
        "CallSid": p.call_sid,
        "SequenceNumber": str(seq),
        "Timestamp": rfc2822(at),
        "StatusCallbackEvent": event,
    }


async def test_a_speech_callback_sets_speaking_at_the_carriers_time() -> None:
    async with core_on_twilio() as rig:
        p, _ = await rig.participants.create(rig.create_command())
        await rig.carrier.let_time_pass(5)
        rig.seen.clear()
        form = speech(rig, p, 30, "participant-speech-start", 4000.0)
        token = {"I-Twilio-Idempotency-Token": "speech-1"}
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, form, headers=token) == 204
        ref = ConferenceRef(p.account_sid, p.conference_sid)
        got = await rig.participants.fetch(ref, p.call_sid, include_ended=False)
        assert (got.speaking, got.last_spoke_at) == (True, 4000.0)
        assert [e.type for e in rig.seen] == [EventType.PARTICIPANT_SPEAKING]
        # The same callback retried: the same state, nothing published.
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, form, headers=token) == 204
        clock = rig.participants.clock
        assert isinstance(clock, ManualClock)
        await clock.advance(5)
        assert [e.type for e in rig.seen] == [EventType.PARTICIPANT_SPEAKING]
