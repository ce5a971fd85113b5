"""End to end: every change names its actor; the audit trail lists them; a
number is looked up and erased on every face, and leaves no trace.

A real server (manual clock, simulated carrier) on SQLite, and again on
PostgreSQL in the second e2e pass. The scenario is scripted: an API key
creates a moderator (end-on-exit) over gRPC, the account creates a customer
over REST, the carrier answers both, the key mutes the customer over gRPC and
kicks the moderator over REST, so Rollcall's end-on-exit rule ends the rest.
Then the key erases the customer's number, and the test looks for it in
every answer of every face and in the database's bytes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import json_format

from clients import cli
from rollcall.v1 import audit_service_pb2 as apb
from rollcall.v1 import audit_service_pb2_grpc as apb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    Harness,
    basic,
    make_settings,
    serving,
)
from tests.e2e.dbquery import files_hold
from tests.e2e.helpers import expect_error

NUMBER = "+15557770101"
LABEL = "customer-ann-lee"
MODERATOR = "+15557770202"
KEY = (KEY_SID, KEY_SECRET)
ACCOUNT = (ACCOUNT_SID, AUTH_TOKEN)
AC = f"accounts/{ACCOUNT_SID}"
TRACES = (NUMBER, NUMBER[1:], LABEL)
ACTOR_FIELDS = ("kind", "sid", "rule", "face")


def md(who: tuple[str, str], request_id: str = "") -> tuple[tuple[str, str], ...]:
    extra = (("x-request-id", request_id),) if request_id else ()
    return (("authorization", basic(*who)), *extra)


def text(message: Any) -> str:
    return json.dumps(json_format.MessageToDict(message))


def who(actor: pb.Actor) -> tuple[Any, ...]:
    return tuple(getattr(actor, f) for f in ACTOR_FIELDS)


async def replay(h: Harness, conference_sid: str) -> list[pb.ConferenceEvent]:
    """Every event of the conference, resuming after revision 0 (an ended
    conference's stream closes once it has sent everything it holds)."""
    stream = h.stub.WatchConference(
        pb.WatchConferenceRequest(parent=h.parent(conference_sid), resume_after_revision=0),
        metadata=md(ACCOUNT),
    )
    return [item.event async for item in stream if item.HasField("event")]


async def audit(h: Harness, creds: tuple[str, str] = ACCOUNT, **fields: Any) -> list[Any]:
    """Every page of the account's audit trail (page_size 3: several pages)."""
    stub = apb_grpc.AuditServiceStub(h.channel)
    found: list[apb.AuditRecord] = []
    token = ""
    while True:
        page = await stub.ListAuditRecords(
            apb.ListAuditRecordsRequest(parent=AC, page_size=3, page_token=token, **fields),
            metadata=md(creds),
        )
        found.extend(page.audit_records)
        token = page.next_page_token
        if not token:
            return found


async def connected(h: Harness, conference_sid: str) -> set[str]:
    page = await h.stub.ListParticipants(
        pb.ListParticipantsRequest(parent=h.parent(conference_sid)), metadata=md(ACCOUNT)
    )
    return {p.call_sid for p in page.participants if p.status == ppb.PARTICIPANT_STATUS_CONNECTED}


async def rest(
    http: aiohttp.ClientSession, method: str, url: str, creds: tuple[str, str], **kw: Any
) -> tuple[int, str]:
    headers = {"Authorization": basic(*creds), **kw.pop("headers", {})}
    async with http.request(method, url, headers=headers, **kw) as response:
        return response.status, await response.text()


async def test_actors_audit_and_erase_on_every_face(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    h = harness
    audit_stub = apb_grpc.AuditServiceStub(h.channel)
    moderator = await h.stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=h.parent("audit-room"),
            from_endpoint="+15005550006",
            to_endpoint=MODERATOR,
            end_conference_on_exit=True,
        ),
        metadata=md(KEY, "req-moderator"),
    )
    conference = moderator.participant.conference_sid
    mod_sid = moderator.participant.call_sid
    twilio = f"{h.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}"
    async with aiohttp.ClientSession() as http:
        status, body = await rest(
            http,
            "POST",
            f"{twilio}/Participants.json",
            ACCOUNT,
            data={"From": "+15005550006", "To": NUMBER, "Label": LABEL},
            # Not from a trusted proxy (none is set): never believed.
            headers={"X-Request-Id": "req-customer", "X-Forwarded-For": "203.0.113.9"},
        )
        assert status == 201, body
        customer = json.loads(body)["call_sid"]
        for _ in range(10):
            if await connected(h, conference) >= {mod_sid, customer}:
                break
            await h.advance(1)  # the simulated carrier rings, then answers
        else:
            raise AssertionError("the simulated carrier never answered")
        await h.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=h.name(conference, customer), muted=True),
            metadata=md(KEY, "req-mute"),
        )
        status, body = await rest(http, "DELETE", f"{twilio}/Participants/{mod_sid}.json", KEY)
        assert status == 204, body

        # 1. Every event names its actor; the audit trail has one record each.
        events = await replay(h, conference)
        records = {(r.conference_sid, r.revision): r for r in await audit(h)}
        assert len(records) == len(events)
        for event in events:
            assert who(records[(conference, event.revision)].actor) == who(event.actor)
        by_change = {
            (e.type, e.participant.call_sid or "conference"): e.actor
            for e in events
            if e.type != pb.CONFERENCE_EVENT_TYPE_CALL_STATUS_CHANGED
        }
        key_grpc = (pb.ACTOR_KIND_API_KEY, KEY_SID, "", "grpc")
        assert who(by_change[(pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, customer)]) == key_grpc
        assert by_change[(pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED, customer)].request_id == (
            "req-mute"
        )
        kick = by_change[(pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, mod_sid)]
        assert who(kick) == (pb.ACTOR_KIND_API_KEY, KEY_SID, "", "rest")
        assert kick.peer_address == "127.0.0.1"
        rule = by_change[(pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_LEFT, customer)]
        # The rule carried the key's kick on: Rollcall's, naming the trigger.
        assert who(rule) == (pb.ACTOR_KIND_ROLLCALL, KEY_SID, "end-on-exit", "rest")
        end = by_change[(pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED, "conference")]
        assert (end.kind, end.rule) == (pb.ACTOR_KIND_ROLLCALL, "end-on-exit")
        for sid in (mod_sid, customer):
            joined = by_change[(pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_JOINED, sid)]
            assert joined.kind == pb.ACTOR_KIND_CARRIER
        created = next(e for e in events if e.participant.call_sid == customer)
        assert who(created.actor) == (pb.ACTOR_KIND_ACCOUNT, ACCOUNT_SID, "", "rest")
        assert created.actor.request_id == "req-customer"
        assert created.actor.forwarded_for == ""  # no trusted proxy: not believed

        # 2. The trail's filters, on gRPC and REST (the same sealed tokens).
        # The key's changes, and what its kick set off (the rule keeps its SID).
        mine = await audit(h, actor_sid=KEY_SID)
        assert {r.resource for r in mine} == {customer, mod_sid, conference}
        assert all(r.actor.sid == KEY_SID for r in mine)
        direct = await audit(h, actor_sid=KEY_SID, actor_kind=pb.ACTOR_KIND_API_KEY)
        assert {r.resource for r in direct} == {customer, mod_sid}
        leaves = await audit(h, event_type="participant-leave", resource=customer)
        assert [r.actor.rule for r in leaves] == ["end-on-exit"]
        carrier = await audit(h, actor_kind=pb.ACTOR_KIND_CARRIER, conference_sid=conference)
        assert carrier and all(r.actor.kind == pb.ACTOR_KIND_CARRIER for r in carrier)
        assert [r.id for r in await audit(h)] == sorted(
            (r.id for r in await audit(h)), reverse=True
        )
        trail = f"{h.http_base}/rollcall/v1/accounts/{ACCOUNT_SID}/audit-records"
        status, body = await rest(
            http, "GET", trail, ACCOUNT, params={"ActorKind": "api-key", "PageSize": "2"}
        )
        assert status == 200, body
        page = json.loads(body)
        assert len(page["audit_records"]) == 2 and page["next_page_token"]
        status, body = await rest(
            http,
            "GET",
            trail,
            ACCOUNT,
            params={"ActorKind": "api-key", "PageSize": "2", "PageToken": page["next_page_token"]},
        )
        assert status == 200, body
        assert {r["actor"]["sid"] for r in json.loads(body)["audit_records"]} == {KEY_SID}
        # Another filter's token does not open; another account sees nothing.
        status, body = await rest(
            http, "GET", trail, ACCOUNT, params={"PageToken": page["next_page_token"]}
        )
        assert status == 400, body
        await expect_error(
            audit_stub.ListAuditRecords(
                apb.ListAuditRecordsRequest(parent=AC), metadata=md((OTHER_SID, OTHER_TOKEN))
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        status, _ = await rest(http, "GET", trail, (OTHER_SID, OTHER_TOKEN))
        assert status == 404
        bad = await expect_error(
            audit_stub.ListAuditRecords(
                apb.ListAuditRecordsRequest(parent=AC, actor_sid="nobody"), metadata=md(ACCOUNT)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert [v.field for v in bad.violations] == ["actor_sid"]

        # 3. Look-up by number, on REST (punctuated) and gRPC; then erase.
        numbers = f"{h.http_base}/rollcall/v1/accounts/{ACCOUNT_SID}/numbers"
        status, body = await rest(
            http, "POST", f"{numbers}/lookup", ACCOUNT, data={"Number": "+1 (555) 777-0101"}
        )
        assert status == 200, body
        [holder] = json.loads(body)["holders"]
        assert (holder["call_sid"], holder["live"]) == (customer, False)
        assert int(holder["events"]) >= 4
        before = [(e.revision, e.type) for e in events]
        assert await files_hold(h.app.settings.database, TRACES)  # the control: it is there
        erased = await audit_stub.EraseNumber(
            apb.EraseNumberRequest(parent=AC, number=NUMBER), metadata=md(KEY, "req-erase")
        )
        assert [e.call_sid for e in erased.erased] == [customer]
        found = await audit_stub.LookupNumber(
            apb.LookupNumberRequest(parent=AC, number=NUMBER), metadata=md(ACCOUNT)
        )
        assert not found.holders

        # 4. Nothing answers with the number or the label, on any face.
        after = await replay(h, conference)
        assert [(e.revision, e.type) for e in after[: len(before)]] == before
        [redacted] = after[len(before) :]
        assert redacted.type == pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED
        assert who(redacted.actor) == (pb.ACTOR_KIND_API_KEY, KEY_SID, "", "grpc")
        assert redacted.participant.call_sid == customer
        assert redacted.participant.status == ppb.PARTICIPANT_STATUS_COMPLETE
        answers = [text(e) for e in after]
        answers += [text(r) for r in await audit(h)]
        fetched = await h.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=h.name(conference, customer), include_ended=True),
            metadata=md(ACCOUNT),
        )
        answers.append(text(fetched))
        for url in (
            # REST shows no ended participant, but its conference's answers.
            f"{twilio}.json",
            f"{twilio}/Participants.json",
            f"{h.http_base}/rollcall/v1/accounts/{ACCOUNT_SID}/audit-records",
        ):
            status, body = await rest(http, "GET", url, ACCOUNT)
            assert status == 200, (url, body)
            answers.append(body)
        for trace in TRACES:
            assert not any(trace in answer for answer in answers), trace
        assert customer in answers[-1] and mod_sid in answers[-1]  # the SIDs stay
        erase_record = [r for r in await audit(h, event_type="number-erase")]
        assert [(r.actor.sid, r.actor.request_id) for r in erase_record] == [(KEY_SID, "req-erase")]
        assert "1 participant" in erase_record[0].detail

        # 5. The CLI lists the trail with the same filters.
        code = await asyncio.to_thread(
            cli.main,
            [
                "audit",
                "--actor",
                KEY_SID,
                "--type",
                "participant-mute",
                "--target",
                h.grpc_target,
                "--account-sid",
                ACCOUNT_SID,
                "--auth-token",
                AUTH_TOKEN,
            ],
        )
        assert code == 0
        [line] = capsys.readouterr().out.splitlines()
        assert "participant-mute" in line and customer in line and "request req-mute" in line

    # 6. Not a byte of it in the database files (checkpointed and vacuumed).
    assert not await files_hold(h.app.settings.database, TRACES)


async def test_erase_refuses_live_calls_unless_asked_to_end_them(harness: Harness) -> None:
    h = harness
    stub = apb_grpc.AuditServiceStub(h.channel)
    live = await h.stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=h.parent("live-room"), from_endpoint="+15005550006", to_endpoint=NUMBER
        ),
        metadata=md(KEY),
    )
    refused = await expect_error(
        stub.EraseNumber(apb.EraseNumberRequest(parent=AC, number=NUMBER), metadata=md(KEY)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert refused.reason == "NUMBER_HAS_LIVE_CALLS"
    assert NUMBER not in refused.message
    held = await h.stub.FetchParticipant(
        pb.FetchParticipantRequest(name=h.name("live-room", live.participant.call_sid)),
        metadata=md(ACCOUNT),
    )
    assert held.participant.to_endpoint == NUMBER  # refused: nothing changed
    bad = await expect_error(
        stub.LookupNumber(apb.LookupNumberRequest(parent=AC, number="   "), metadata=md(KEY)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in bad.violations] == ["number"]
    done = await stub.EraseNumber(
        apb.EraseNumberRequest(parent=AC, number=NUMBER, end_live_calls=True), metadata=md(KEY)
    )
    assert (done.ended, [e.call_sid for e in done.erased]) == (1, [live.participant.call_sid])
    events = await replay(h, live.participant.conference_sid)
    kinds = [e.type for e in events[-2:]]
    assert pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED in kinds
    assert all(NUMBER not in text(e) for e in events)


async def test_retention_pass_redacts_past_the_window_without_a_trace(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        http_listen="",
        personal_data_retention_seconds=60.0,
        retention_interval_seconds=0.0,  # the pass runs when the test says
    )
    async with serving(settings) as h:
        created = await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=h.parent("kept-a-minute"),
                from_endpoint="+15005550006",
                to_endpoint=NUMBER,
                label=LABEL,
            ),
            metadata=md(KEY),
        )
        call = created.participant
        await h.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=h.name(call.conference_sid, call.call_sid)),
            metadata=md(KEY),
        )
        before = await replay(h, call.conference_sid)
        await h.advance(59)
        assert h.app.retention is not None
        await h.app.retention.run()
        assert await files_hold(settings.database, TRACES)  # inside its window: kept
        await h.advance(2)
        await h.app.retention.run()
        after = await replay(h, call.conference_sid)
        assert [(e.revision, e.type) for e in after[:-1]] == [(e.revision, e.type) for e in before]
        assert after[-1].type == pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_REDACTED
        assert (after[-1].actor.kind, after[-1].actor.rule) == (
            pb.ACTOR_KIND_ROLLCALL,
            "retention",
        )
        answers = [text(e) for e in after] + [text(r) for r in await audit(h)]
        assert not any(trace in answer for answer in answers for trace in TRACES)
    assert not await files_hold(settings.database, TRACES)
