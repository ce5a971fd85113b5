"""Carrier callback ingest: signatures against the public URL, parsing, tokens, order, answers.

Callbacks come from the fake carrier (signed with the upstream auth token)
or, for hand-made cases, from a plain aiohttp client signing with twilio's
RequestValidator, always over real HTTP to the ingest routes.
"""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from service.carriers.twilio.ingest import CALL_STATUS_PATH, make_handler
from service.carriers.twilio.parse import (
    Malformed,
    idempotency_token,
    parse_call_report,
    parse_conference_report,
)
from service.core.ports.carrier import (
    CallReport,
    CallTarget,
    ConferenceEvent,
    ConferenceReport,
    Kick,
    Mute,
    PlaceCall,
    Report,
    Update,
)
from service.core.statuses import CallStatus
from service.metrics import REGISTRY
from tests.fakes.twilio_harness import (
    ACCOUNT,
    TOKENS,
    UPSTREAM,
    UPSTREAM_TOKEN,
    Received,
    ingest_server,
    post,
    twilio_rig,
)

CONFERENCE = "CF" + "3" * 32
CALL = "CA" + "4" * 32


def a_call(key: str, to: str = "+15551230001") -> PlaceCall:
    return PlaceCall(ACCOUNT, key, CONFERENCE, "+15005550006", to, 30, 3600)


def refused() -> float:
    value = REGISTRY.get_sample_value("rollcall_carrier_callbacks_total", {"result": "refused"})
    return value or 0.0


def call_form(**overrides: str) -> dict[str, str]:
    form = {
        "AccountSid": UPSTREAM,
        "CallSid": CALL,
        "CallStatus": "ringing",
        "SequenceNumber": "1",
        "Timestamp": "Thu, 01 Jun 2017 20:48:32 +0000",
        "CallbackSource": "call-progress-events",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != "<omit>"}


async def test_carrier_callbacks_arrive_as_reports_in_the_carriers_words() -> None:
    async with twilio_rig() as rig:
        placed = await rig.adapter.place(a_call("words"))
        await rig.carrier.let_time_pass(5)
        await rig.adapter.apply(Update(CallTarget(ACCOUNT, placed.conference_sid,
                                                  placed.call_sid), (Mute(True),)))  # fmt: skip
        await rig.adapter.apply(Kick(CallTarget(ACCOUNT, placed.conference_sid, placed.call_sid)))
        await rig.carrier.settle()
        calls = rig.received.calls(placed.call_sid)
        assert [(r.status, r.sequence_number) for r in calls] == [
            (CallStatus.INITIATED, 0),
            (CallStatus.RINGING, 1),
            (CallStatus.IN_PROGRESS, 2),
            (CallStatus.COMPLETED, 3),
        ]
        assert all(r.account_sid == UPSTREAM for r in calls)
        events = rig.received.conference()
        assert [e.event for e in events] == [
            ConferenceEvent.PARTICIPANT_JOIN,
            ConferenceEvent.PARTICIPANT_MUTE,
            ConferenceEvent.PARTICIPANT_LEAVE,
            ConferenceEvent.CONFERENCE_END,
        ]
        assert [e.sequence_number for e in events] == [1, 2, 3, 4]
        mute, leave, end = events[1], events[2], events[3]
        assert (mute.call_sid, mute.muted, mute.label) == (placed.call_sid, True, "rc-words")
        assert leave.leave_reason == "participant_updated_via_api"
        assert leave.participant_call_status is CallStatus.COMPLETED
        assert end.end_reason == "last-participant-kicked"
        assert end.ended_by_call_sid == placed.call_sid
        assert all(token for _, token in rig.received.items)


async def test_a_bad_or_missing_signature_is_refused_403_and_logged_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received = Received()
    refused_before = refused()
    async with ingest_server(None, TOKENS, received) as base:
        caplog.set_level(logging.INFO)
        assert await post(base, CALL_STATUS_PATH, call_form(), token="not-the-token") == 403
        no_sig = {"X-Twilio-Signature": ""}
        assert await post(base, CALL_STATUS_PATH, call_form(), headers=no_sig) == 403
        stranger = call_form(AccountSid="AC" + "7" * 32)
        assert await post(base, CALL_STATUS_PATH, stranger) == 403
        assert await post(base, CALL_STATUS_PATH, call_form()) == 204
    assert len(received.items) == 1
    assert refused() == refused_before + 3
    logged = caplog.text
    assert "refused" in logged
    assert UPSTREAM_TOKEN not in logged and "not-the-token" not in logged
    assert (
        RequestValidator("not-the-token").compute_signature(base + CALL_STATUS_PATH, call_form())
        not in logged
    )


async def test_the_signature_is_checked_against_the_public_url_not_the_host_header() -> None:
    received = Received()
    public = "https://rollcall.example.com/base"
    async with ingest_server(public, TOKENS, received) as base:
        # Signed for the URL the carrier was given (behind a proxy): accepted.
        assert await post(base, CALL_STATUS_PATH, call_form(),
                          signed_url=public + CALL_STATUS_PATH) == 204  # fmt: skip
        # Signed for the address it arrived on: refused.
        assert await post(base, CALL_STATUS_PATH, call_form()) == 403
    assert len(received.items) == 1


async def test_a_malformed_callback_is_400_and_not_applied() -> None:
    received = Received()
    async with ingest_server(None, TOKENS, received) as base:
        for bad in (
            call_form(CallSid="<omit>"),
            call_form(CallSid="CAnot-a-sid"),
            call_form(SequenceNumber="-1"),
            call_form(CallStatus="dancing"),
            call_form(Timestamp="yesterday"),
        ):
            assert await post(base, CALL_STATUS_PATH, bad) == 400, bad
    assert received.items == []


async def test_2xx_only_once_apply_returned() -> None:
    applied: list[Report] = []

    async def failing(report: Report, token: str | None) -> None:
        raise RuntimeError("store is down")

    async def working(report: Report, token: str | None) -> None:
        applied.append(report)

    for apply, expected in ((failing, 500), (working, 204)):
        app = web.Application()
        app.router.add_post("/cb", make_handler("http://public", TOKENS.get, apply))
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            status = await post(f"http://127.0.0.1:{port}", "/cb", call_form(),
                                signed_url="http://public/cb")  # fmt: skip
        finally:
            await runner.cleanup()
        assert status == expected
    assert len(applied) == 1


async def test_a_callback_sent_twice_carries_one_token_so_it_is_applied_once() -> None:
    async with twilio_rig() as rig:
        rig.carrier.delivery = "twice"
        placed = await rig.adapter.place(a_call("twice"))
        await rig.carrier.let_time_pass(5)
        arrived = [(r, t) for r, t in rig.received.items if isinstance(r, CallReport)]
        assert len(arrived) == 2 * 3  # initiated, ringing, in-progress: each twice
        seen: set[str] = set()
        applied: list[CallReport] = []
        for report, token in arrived:  # what the durable dedup table will do
            assert token is not None
            if token not in seen:
                seen.add(token)
                applied.append(report)
        assert [r.status for r in applied] == [
            CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS,
        ]  # fmt: skip
        assert {r.call_sid for r in applied} == {placed.call_sid}


async def test_out_of_order_callbacks_keep_their_sequence_numbers() -> None:
    async with twilio_rig() as rig:
        rig.carrier.holding = True
        placed = await rig.adapter.place(a_call("order"))
        await rig.carrier.let_time_pass(5)
        rig.carrier.release(reverse=True)
        await rig.carrier.settle()
        calls = rig.received.calls(placed.call_sid)
        assert [r.sequence_number for r in calls] == [2, 1, 0]
        ordered = sorted(calls, key=lambda r: r.sequence_number or 0)
        assert [r.status for r in ordered] == [
            CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS,
        ]  # fmt: skip


async def test_missed_callbacks_are_never_sent() -> None:
    async with twilio_rig() as rig:
        rig.carrier.delivery = "none"
        await rig.adapter.place(a_call("none"))
        await rig.carrier.let_time_pass(5)
        assert rig.received.items == []
        assert rig.carrier.deliveries == []


def test_twilios_documented_conference_example_validates_and_parses() -> None:
    form = {
        "AccountSid": "AC" + "0" * 32, "ConferenceSid": "CF" + "e" * 32,
        "FriendlyName": "MyConf", "SequenceNumber": "3",
        "Timestamp": "Thu, 1 Jun 2017 20:48:32 +0000",
        "StatusCallbackEvent": "participant-mute", "CallSid": CALL, "Muted": "true",
        "Hold": "false", "Coaching": "false", "EndConferenceOnExit": "false",
        "StartConferenceOnEnter": "true", "ParticipantLabel": "agent one",
    }  # fmt: skip
    report = parse_conference_report(form)
    assert isinstance(report, ConferenceReport)
    assert (report.event, report.sequence_number, report.muted, report.hold) == (
        ConferenceEvent.PARTICIPANT_MUTE, 3, True, False,
    )  # fmt: skip
    assert report.label == "agent one" and report.start_conference_on_enter is True
    assert report.timestamp == 1496350112.0


def test_call_reports_carry_answered_by_and_duration() -> None:
    report = parse_call_report(
        call_form(CallStatus="completed", AnsweredBy="machine_start", CallDuration="42")
    )
    assert (report.status, report.answered_by, report.duration_seconds) == (
        CallStatus.COMPLETED, "machine_start", 42,
    )  # fmt: skip
    with pytest.raises(Malformed, match="Muted"):
        parse_conference_report(
            {
                **call_form(),
                "ConferenceSid": CONFERENCE,
                "StatusCallbackEvent": "participant-mute",
                "Muted": "maybe",
            }
        )


def test_the_idempotency_token_is_extracted_or_absent() -> None:
    assert idempotency_token({"I-Twilio-Idempotency-Token": " abc-123 "}) == "abc-123"
    assert idempotency_token({}) is None
    assert idempotency_token({"I-Twilio-Idempotency-Token": "x" * 300}) is None
