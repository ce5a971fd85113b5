"""The carrier's answering machine detection (AnsweredBy) reaches the participant.

Through the core on the Twilio adapter (tests.fakes.twilio_core): a signed
call-progress callback carrying AnsweredBy is recorded on the participant,
with the step it came with or, when that step was already taken (the
conference's participant-join came first), as a change of its own; either
way one participant-answered-by event says it became known.
"""

from __future__ import annotations

from service.carriers.twilio.ingest import CALL_STATUS_PATH
from service.core.commands import ConferenceRef
from service.core.events import EventType
from service.core.records import Participant
from service.core.statuses import ParticipantStatus
from tests.fakes.carrier_state import rfc2822
from tests.fakes.twilio_core import CoreRig, core_on_twilio
from tests.fakes.twilio_harness import UPSTREAM, post


def progress(p: Participant, seq: int, status: str, answered_by: str) -> dict[str, str]:
    return {
        "AccountSid": UPSTREAM,
        "CallSid": p.call_sid,
        "CallStatus": status,
        "AnsweredBy": answered_by,
        "SequenceNumber": str(seq),
        "Timestamp": rfc2822(2000.0),
        "CallbackSource": "call-progress-events",
    }


async def state(rig: CoreRig, p: Participant) -> Participant:
    ref = ConferenceRef(p.account_sid, p.conference_sid)
    return await rig.participants.fetch(ref, p.call_sid, include_ended=True)


async def test_answered_by_on_a_step_already_taken_is_a_change_of_its_own() -> None:
    async with core_on_twilio() as rig:
        p, _ = await rig.participants.create(rig.create_command())
        await rig.carrier.let_time_pass(5)  # answered and joined at the carrier
        joined = await state(rig, p)
        assert joined.status is ParticipantStatus.CONNECTED and joined.answered_by is None
        rig.seen.clear()
        form = progress(p, 50, "in-progress", "machine_end_beep")
        assert await post(rig.public_url, CALL_STATUS_PATH, form) == 204
        detected = await state(rig, p)
        assert detected.answered_by == "machine_end_beep"
        assert [e.type for e in rig.seen] == [EventType.PARTICIPANT_ANSWERED_BY]
        assert rig.seen[0].participant is not None
        assert rig.seen[0].participant.answered_by == "machine_end_beep"
        # The same word again changes nothing.
        rig.seen.clear()
        again = progress(p, 51, "in-progress", "machine_end_beep")
        assert await post(rig.public_url, CALL_STATUS_PATH, again) == 204
        assert rig.seen == []


async def test_answered_by_with_the_end_of_the_call_is_recorded_with_it() -> None:
    async with core_on_twilio() as rig:
        p, _ = await rig.participants.create(rig.create_command())
        await rig.carrier.let_time_pass(5)
        rig.seen.clear()
        form = progress(p, 50, "completed", "human")
        assert await post(rig.public_url, CALL_STATUS_PATH, form) == 204
        ended = await state(rig, p)
        assert ended.status is ParticipantStatus.COMPLETE and ended.answered_by == "human"
        left = [e for e in rig.seen if e.type is EventType.PARTICIPANT_LEFT]
        assert left and left[0].participant is not None
        assert left[0].participant.answered_by == "human"
        # One event says it became known, after the step it came with.
        kinds = [e.type for e in rig.seen]
        assert kinds.count(EventType.PARTICIPANT_ANSWERED_BY) == 1
        assert kinds.index(EventType.PARTICIPANT_ANSWERED_BY) > kinds.index(
            EventType.PARTICIPANT_LEFT
        )
