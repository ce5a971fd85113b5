"""End to end: supervisor roles over gRPC and REST, and who hears whom.

A real server (simulated carrier, the test run's store): roles set on
Create and changed by Update, each change one event on both watch streams,
GetHearing's matrix, a monitor that cannot be unmuted, and the REST face's
Rollcall fields beside Twilio's own Coaching / CallSidToCoach. On the Twilio
carrier (the fake, over HTTP): each role's exact form fields, and a whisper
to two targets refused before the carrier hears of it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness
from tests.e2e.helpers import create, expect_error, until_status
from tests.e2e.on_fake_carrier import rollcall_on_carrier
from tests.gateway.conftest import basic

ROLE_CHANGED = pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_ROLE_CHANGED


async def update(h: Harness, conference: str, call_sid: str, **fields: Any) -> ppb.Participant:
    request = pb.UpdateParticipantRequest(name=h.name(conference, call_sid), **fields)
    return (await h.stub.UpdateParticipant(request, metadata=h.md())).participant


async def get_hearing(h: Harness, conference: str) -> cpb.GetHearingResponse:
    return await cpb_grpc.ConferenceServiceStub(h.channel).GetHearing(
        cpb.GetHearingRequest(name=h.parent(conference)), metadata=h.md()
    )


async def hearing(h: Harness, conference: str) -> dict[str, tuple[list[str], list[str]]]:
    response = await get_hearing(h, conference)
    return {row.call_sid: (list(row.hears), list(row.heard_by)) for row in response.rows}


async def events_until(stream: Any, last: int) -> list[pb.ConferenceEvent]:
    """A stream's events up to the first of type `last`."""
    seen: list[pb.ConferenceEvent] = []

    async def read() -> None:
        async for item in stream:
            if item.HasField("event"):
                seen.append(item.event)
                if item.event.type == last:
                    return

    await asyncio.wait_for(read(), 20)
    return seen


async def test_roles_events_and_hearing(harness: Harness) -> None:
    h = harness
    a = (await create(h, "floor", to="+15551230001")).participant
    b = (await create(h, "floor", to="+15551230002")).participant
    s = (await create(h, "floor", to="+15551230003", role=E.PARTICIPANT_ROLE_MONITOR)).participant
    assert s.muted and s.role == E.PARTICIPANT_ROLE_MONITOR and not s.coaching
    await h.advance(3)
    cf = a.conference_sid
    matrix = await hearing(h, cf)
    assert matrix[s.call_sid] == (sorted([a.call_sid, b.call_sid]), [])

    revision = (await get_hearing(h, cf)).revision
    conference_watch = h.stub.WatchConference(
        pb.WatchConferenceRequest(parent=h.parent(cf), resume_after_revision=revision),
        metadata=h.md(),
    )
    account_watch = h.stub.WatchAccount(
        pb.WatchAccountRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=h.md()
    )
    async for item in account_watch:
        if item.HasField("snapshot_complete"):
            break
    whisper = await update(
        h, cf, s.call_sid, role=E.PARTICIPANT_ROLE_WHISPER, whisper_targets=[a.call_sid, b.call_sid]
    )
    assert (whisper.coaching, whisper.call_sid_to_coach) == (True, a.call_sid)
    assert list(whisper.whisper_targets) == [a.call_sid, b.call_sid] and not whisper.muted
    await update(h, cf, b.call_sid, muted=True)
    for stream in (conference_watch, account_watch):
        events = await events_until(stream, pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED)
        mine = [e for e in events if e.participant.call_sid == s.call_sid]
        assert [e.type for e in mine] == [ROLE_CHANGED]  # one event, the unmute in it
        assert mine[0].participant.role == E.PARTICIPANT_ROLE_WHISPER
        assert not mine[0].participant.muted
        stream.cancel()
    matrix = await hearing(h, cf)
    assert matrix[a.call_sid][0] == [s.call_sid]  # b is muted now
    assert matrix[s.call_sid][1] == sorted([a.call_sid, b.call_sid])

    monitor = await update(h, cf, s.call_sid, role=E.PARTICIPANT_ROLE_MONITOR)
    assert monitor.muted and not monitor.coaching and not monitor.whisper_targets
    error = await expect_error(
        update(h, cf, s.call_sid, muted=False), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error.reason == "ROLE_FORBIDS_UNMUTE"
    error = await expect_error(
        update(h, cf, s.call_sid, role=E.PARTICIPANT_ROLE_BARGE, whisper_targets=[a.call_sid]),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in error.violations] == ["whisper_targets"]
    error = await expect_error(
        update(h, cf, s.call_sid, role=E.PARTICIPANT_ROLE_BARGE, coaching=True),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in error.violations] == ["role"]

    # The REST face: Twilio's Coaching / CallSidToCoach as ever, and
    # Rollcall's own RollcallRole / RollcallWhisperTargets fields.
    base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{cf}/Participants/{s.call_sid}.json"
    async with aiohttp.ClientSession(
        base_url=h.http_base, headers={"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
    ) as http:
        async with http.post(base, data={"Coaching": "true", "CallSidToCoach": b.call_sid}) as r:
            body = await r.json()
            assert r.status == 200, body
        assert (body["coaching"], body["call_sid_to_coach"], body["muted"]) == (
            True,
            b.call_sid,
            False,
        )
        async with http.post(base, data={"RollcallRole": "barge"}) as r:
            body = await r.json()
            assert r.status == 200, body
        assert (body["coaching"], body["call_sid_to_coach"], body["muted"]) == (False, None, False)
        async with http.post(base, data={"RollcallRole": "boss"}) as r:
            assert r.status == 400
    fetched = await h.stub.FetchParticipant(
        pb.FetchParticipantRequest(name=h.name(cf, s.call_sid)), metadata=h.md()
    )
    assert fetched.participant.role == E.PARTICIPANT_ROLE_BARGE


async def test_roles_reach_the_twilio_carrier_as_its_own_fields(tmp_path: Path) -> None:
    async with rollcall_on_carrier(tmp_path) as (h, carrier):
        a = (await create(h, "desk", to="+15551230001")).participant
        b = (await create(h, "desk", to="+15551230002")).participant
        s = await create(h, "desk", to="+15551230003", role=E.PARTICIPANT_ROLE_MONITOR)
        s_sid, cf = s.participant.call_sid, a.conference_sid
        assert dict(carrier.placed()[2].form)["Muted"] == "true"
        await carrier.let_time_pass(5)
        await until_status(
            h.stub,
            h.parent(cf),
            h.md(),
            [a.call_sid, b.call_sid, s_sid],
            ppb.PARTICIPANT_STATUS_CONNECTED,
        )

        def forms() -> list[dict[str, str]]:
            path = f"/Participants/{s_sid}.json"
            return [dict(r.form) for r in carrier.requests if r.path.endswith(path)]

        error = await expect_error(
            update(
                h,
                cf,
                s_sid,
                role=E.PARTICIPANT_ROLE_WHISPER,
                whisper_targets=[a.call_sid, b.call_sid],
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert error.reason == "CARRIER_WHISPER_LIMIT" and error.metadata["limit"] == "1"
        assert forms() == []  # refused before the carrier heard of it
        await update(h, cf, s_sid, role=E.PARTICIPANT_ROLE_WHISPER, whisper_targets=[a.call_sid])
        await update(h, cf, s_sid, role=E.PARTICIPANT_ROLE_BARGE)
        await update(h, cf, s_sid, role=E.PARTICIPANT_ROLE_MONITOR)
        assert forms() == [
            {"Muted": "false", "Coaching": "true", "CallSidToCoach": a.call_sid},
            {"Muted": "false", "Coaching": "false"},
            {"Muted": "true", "Coaching": "false"},
        ]
        await carrier.settle()
        matrix = await hearing(h, cf)
        call = carrier.network.calls[s_sid]
        assert (call.muted, call.coaching) == (True, False)
        assert matrix[s_sid] == (sorted([a.call_sid, b.call_sid]), [])
