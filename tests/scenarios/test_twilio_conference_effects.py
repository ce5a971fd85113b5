"""Conference-level actions and reports through the core on the Twilio adapter.

Ending a conference via the API is one Update Conference (Status=completed)
at the carrier, never a kick per call; a conference announcement is one
Update Conference (AnnounceUrl, AnnounceMethod) whose end comes from the
carrier's report, once; a carrier refusal changes nothing in Rollcall. The
carrier's own conference-end and participant-leave, signed and posted over
HTTP to the ingest routes, end the conference and the participants with the
carrier's reasons; a duplicate, a stale one, or another tenant's changes
nothing. Real SQLite, real HTTP both ways (tests.fakes.twilio_core).
"""

from __future__ import annotations

import pytest

from service.carriers.twilio.ingest import CONFERENCE_STATUS_PATH
from service.core.commands import ConferenceRef
from service.core.conferences import ConferenceUpdate
from service.core.errors import RollcallError
from service.core.events import EventType
from service.core.records import Participant
from service.core.statuses import ConferenceStatus, EndReason, LeaveReason, ParticipantStatus
from tests.fakes.carrier_state import rfc2822
from tests.fakes.twilio_core import OTHER, OTHER_TOKEN, OTHER_UPSTREAM, CoreRig, core_on_twilio
from tests.fakes.twilio_harness import ACCOUNT, UPSTREAM, post

ANNOUNCE = "https://example.com/all.xml"


async def two_connected(rig: CoreRig, account: str = ACCOUNT) -> tuple[Participant, Participant]:
    a, _ = await rig.participants.create(rig.create_command(account, end_conference_on_exit=True))
    b, _ = await rig.participants.create(rig.create_command(account, to_endpoint="+15551230002"))
    await rig.carrier.let_time_pass(5)
    for p in (a, b):
        ref = ConferenceRef(account, p.conference_sid)
        fetched = await rig.participants.fetch(ref, p.call_sid, include_ended=True)
        assert fetched.status is ParticipantStatus.CONNECTED
    return a, b


def carrier_conference(rig: CoreRig, conference_sid: str) -> str:
    (found,) = [
        c.sid
        for c in rig.carrier.network.conferences.values()
        if c.friendly_name == f"rollcall-{conference_sid}"
    ]
    return found


def conference_end_form(
    rig: CoreRig, p: Participant, seq: int, *, upstream: str = UPSTREAM, **extra: str
) -> dict[str, str]:
    form = {
        "AccountSid": upstream,
        "ConferenceSid": carrier_conference(rig, p.conference_sid),
        "FriendlyName": f"rollcall-{p.conference_sid}",
        "SequenceNumber": str(seq),
        "Timestamp": rfc2822(1000.0),
        "StatusCallbackEvent": "conference-end",
    }
    form.update(extra)
    return form


async def state(rig: CoreRig, p: Participant) -> Participant:
    ref = ConferenceRef(p.account_sid, p.conference_sid)
    return await rig.participants.fetch(ref, p.call_sid, include_ended=True)


async def test_ending_via_the_api_is_one_conference_update_and_no_kick() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        cf = carrier_conference(rig, a.conference_sid)
        before = len(rig.carrier.requests)
        rig.seen.clear()
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        rig.carrier.holding = True  # the carrier's reports of it come after
        ended = await rig.conferences.update(ref, ConferenceUpdate(end=True))
        sent = rig.carrier.requests[before:]
        assert [(r.method, r.path, r.form) for r in sent] == [
            (
                "POST",
                f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{cf}.json",
                [("Status", "completed")],
            )
        ]
        assert ended.status is ConferenceStatus.COMPLETED
        assert ended.end_reason is EndReason.CONFERENCE_ENDED_VIA_API
        assert ended.call_sid_ending_conference is None
        for p in (a, b):
            left = await state(rig, p)
            assert left.status is ParticipantStatus.COMPLETE
            assert left.leave_reason is LeaveReason.CONFERENCE_ENDED_VIA_API
        assert [e.type for e in rig.seen] == [
            EventType.PARTICIPANT_LEFT,
            EventType.PARTICIPANT_LEFT,
            EventType.CONFERENCE_ENDED,
        ]
        # The carrier's own reports of it (leaves, conference-end) change nothing more.
        rig.carrier.holding = False
        rig.carrier.release()
        await rig.carrier.settle()
        assert any(r.event.value == "conference-end" for r in rig.received.conference())
        assert [r.method for r in rig.carrier.requests[before:]] == ["POST"]
        assert not any(c.live for c in rig.carrier.network.calls.values())
        assert len(rig.seen) == 3


async def test_a_refused_end_changes_nothing() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        cf = carrier_conference(rig, a.conference_sid)
        rig.carrier.fail_next("500", path=f"/Conferences/{cf}.json")
        rig.seen.clear()
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        with pytest.raises(RollcallError) as refused:
            await rig.conferences.update(ref, ConferenceUpdate(end=True))
        assert refused.value.reason == "CARRIER_UNAVAILABLE"
        assert rig.seen == []
        conf = await rig.conferences.fetch(ref)
        assert conf.active
        assert (await state(rig, a)).active and (await state(rig, b)).active
        assert [c.live for c in rig.carrier.network.calls.values()] == [True, True]


async def test_a_conference_announcement_goes_upstream_and_ends_once() -> None:
    async with core_on_twilio() as rig:
        a, _ = await two_connected(rig)
        cf = carrier_conference(rig, a.conference_sid)
        before = len(rig.carrier.requests)
        rig.seen.clear()
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        update = ConferenceUpdate(announce_url=ANNOUNCE, announce_method="GET")
        await rig.conferences.update(ref, update)
        sent = rig.carrier.requests[before:]
        assert [(r.method, r.path, r.form) for r in sent] == [
            (
                "POST",
                f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{cf}.json",
                [("AnnounceUrl", ANNOUNCE), ("AnnounceMethod", "GET")],
            )
        ]
        assert rig.seen == [], "the carrier reports the announcement's end"
        await rig.carrier.settle()
        assert [(e.type, e.participant) for e in rig.seen] == [(EventType.ANNOUNCEMENT_ENDED, None)]
        assert rig.seen[0].conference.announce_url == ANNOUNCE


async def test_a_refused_announcement_changes_nothing() -> None:
    async with core_on_twilio() as rig:
        a, _ = await two_connected(rig)
        cf = carrier_conference(rig, a.conference_sid)
        rig.carrier.fail_next("404", path=f"/Conferences/{cf}.json")
        rig.seen.clear()
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        with pytest.raises(RollcallError) as refused:
            await rig.conferences.update(ref, ConferenceUpdate(announce_url=ANNOUNCE))
        assert refused.value.twilio_code == 20404
        await rig.carrier.settle()
        assert rig.seen == []
        assert (await rig.conferences.fetch(ref)).announce_url is None


async def test_the_carriers_conference_end_ends_it_with_its_reasons() -> None:
    async with core_on_twilio() as rig:
        a, b = await two_connected(rig)
        before = len(rig.carrier.requests)
        rig.seen.clear()
        form = conference_end_form(
            rig, a, 40,
            ReasonConferenceEnded="participant-with-end-conference-on-exit-kicked",
            CallSidEndingConference=a.call_sid,
            Reason="Participant kicked",
        )  # fmt: skip
        token = {"I-Twilio-Idempotency-Token": "end-1"}
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, form, headers=token) == 204
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        conf = await rig.conferences.fetch(ref)
        assert conf.status is ConferenceStatus.COMPLETED
        assert conf.end_reason is EndReason.EOE_KICKED
        assert conf.call_sid_ending_conference == a.call_sid
        assert (await state(rig, a)).leave_reason is LeaveReason.PARTICIPANT_UPDATED_VIA_API
        assert (await state(rig, b)).leave_reason is LeaveReason.MODERATOR_ENDED_CONFERENCE
        assert [e.type for e in rig.seen] == [
            EventType.PARTICIPANT_LEFT,
            EventType.PARTICIPANT_LEFT,
            EventType.CONFERENCE_ENDED,
        ]
        assert rig.carrier.requests[before:] == [], "no kick: the carrier ended the calls"
        # The same callback again, and a later one for the ended conference: nothing.
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, form, headers=token) == 204
        again = conference_end_form(rig, a, 41, ReasonConferenceEnded="last-participant-left")
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, again) == 204
        assert len(rig.seen) == 3
        assert (await rig.conferences.fetch(ref)).end_reason is EndReason.EOE_KICKED


async def test_a_stale_or_foreign_conference_end_changes_nothing() -> None:
    async with core_on_twilio() as rig:
        a, _ = await two_connected(rig)
        theirs, _ = await two_connected(rig, OTHER)
        ref = ConferenceRef(ACCOUNT, a.conference_sid)
        rig.seen.clear()
        # A conference announcement's end at SequenceNumber 30 is applied ...
        announced = conference_end_form(
            rig, a, 30, StatusCallbackEvent="announcement-end", AnnounceUrl=ANNOUNCE
        )
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, announced) == 204
        assert [e.type for e in rig.seen] == [EventType.ANNOUNCEMENT_ENDED]
        # ... so a conference-end numbered before it is stale.
        stale = conference_end_form(rig, a, 29, ReasonConferenceEnded="conference-ended-via-api")
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, stale) == 204
        assert (await rig.conferences.fetch(ref)).active
        # Our upstream account naming the other tenant's conference: untouched.
        foreign = conference_end_form(
            rig, theirs, 50, ReasonConferenceEnded="last-participant-left"
        )
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, foreign) == 204
        their_ref = ConferenceRef(OTHER, theirs.conference_sid)
        assert (await rig.conferences.fetch(their_ref)).active
        assert (await state(rig, theirs)).active
        # An unknown conference, or a name that is not Rollcall's: nothing either.
        unknown = {**stale, "SequenceNumber": "60", "FriendlyName": "rollcall-CF" + "9" * 32}
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, unknown) == 204
        named = {**stale, "SequenceNumber": "61", "FriendlyName": "someone else's"}
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, named) == 204
        assert (await rig.conferences.fetch(ref)).active
        assert [e.type for e in rig.seen] == [EventType.ANNOUNCEMENT_ENDED]
        # The other tenant's own upstream account may end it.
        own = conference_end_form(
            rig, theirs, 51, upstream=OTHER_UPSTREAM, ReasonConferenceEnded="last-participant-left"
        )
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, own, token=OTHER_TOKEN) == 204
        assert not (await rig.conferences.fetch(their_ref)).active


@pytest.mark.parametrize(
    ("reason", "end_reason"),
    [
        ("participant_updated_via_api", EndReason.LAST_PARTICIPANT_KICKED),
        ("participant_hung_up", EndReason.LAST_PARTICIPANT_LEFT),
        ("conference_ended_via_api", EndReason.CONFERENCE_ENDED_VIA_API),
    ],
)
async def test_a_signed_participant_leave_carries_the_carriers_reason(
    reason: str, end_reason: EndReason
) -> None:
    async with core_on_twilio() as rig:
        p, _ = await rig.participants.create(rig.create_command())
        await rig.carrier.let_time_pass(5)
        form = conference_end_form(
            rig, p, 20,
            StatusCallbackEvent="participant-leave",
            CallSid=p.call_sid,
            ParticipantCallStatus="completed",
            ReasonParticipantLeft=reason,
        )  # fmt: skip
        assert await post(rig.public_url, CONFERENCE_STATUS_PATH, form) == 204
        left = await state(rig, p)
        assert (left.status, left.leave_reason) == (ParticipantStatus.COMPLETE, LeaveReason(reason))
        conf = await rig.conferences.fetch(ConferenceRef(ACCOUNT, p.conference_sid))
        assert conf.end_reason is end_reason
        expected_by = None if end_reason is EndReason.CONFERENCE_ENDED_VIA_API else p.call_sid
        assert conf.call_sid_ending_conference == expected_by
