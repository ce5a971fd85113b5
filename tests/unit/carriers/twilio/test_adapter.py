"""The Twilio adapter against the fake carrier: wire forms, retries, lookups, errors, reconcile.

Real HTTP on 127.0.0.1 both ways; the adapter's time is a ManualClock its own
sleeps advance (see tests.fakes.twilio_harness), so backoff and pacing are
read from the recorded sleeps, never waited for.
"""

from __future__ import annotations

import itertools
from urllib.parse import unquote

import pytest

from service.carriers.twilio.adapter import TwilioCarrier
from service.carriers.twilio.config import (
    TwilioOptions,
    UpstreamAccount,
    parse_upstream_accounts,
    signing_tokens,
    tenants,
)
from service.carriers.twilio.forms import conference_name, label_for
from service.carriers.twilio.ingest import CALL_STATUS_PATH, CONFERENCE_STATUS_PATH, callback_urls
from service.core.errors import Code, RollcallError
from service.core.ports.carrier import (
    Announce,
    BeepOnExit,
    CallTarget,
    Coach,
    ConferenceTarget,
    EndConference,
    EndConferenceOnExit,
    Hold,
    Kick,
    Mute,
    OpenCall,
    ParticipantChange,
    PlaceCall,
    Placed,
    Update,
    Wait,
)
from service.core.statuses import CallStatus
from service.metrics import REGISTRY
from tests.fakes.twilio_harness import (
    ACCOUNT,
    UPSTREAM,
    UPSTREAM_KEY,
    UPSTREAM_TOKEN,
    TwilioRig,
    twilio_rig,
)
from tests.ports import closed_port

TO = "+15551230001"
CONFERENCE = "CF" + "2" * 32
_keys = itertools.count(1)


def a_call(to: str = TO, *, key: str | None = None, **kw: object) -> PlaceCall:
    values: dict[str, object] = {
        "account_sid": ACCOUNT,
        "key": key or f"k{next(_keys)}",
        "conference": CONFERENCE,
        "from_endpoint": "+15005550006",
        "to_endpoint": to,
        "timeout_seconds": 30,
        "time_limit_seconds": 3600,
    }
    values.update(kw)
    return PlaceCall(**values)  # type: ignore[arg-type]


def target(placed: Placed) -> CallTarget:
    return CallTarget(ACCOUNT, placed.conference_sid, placed.call_sid)


def lookups(found: str) -> float:
    value = REGISTRY.get_sample_value("rollcall_carrier_create_lookups_total", {"found": found})
    return value or 0.0


def form_of(rig: TwilioRig, index: int = -1) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for k, v in rig.carrier.requests[index].form:
        form.setdefault(k, []).append(v)
    return form


async def test_create_asks_for_every_event_with_callbacks_to_the_ingest_routes() -> None:
    async with twilio_rig() as rig:
        call = a_call(
            key="abc", muted=True, end_conference_on_exit=True, wait_url="http://w/x",
            parameters={"record": True, "status_callback": "http://customer/x",
                        "region": "ie1", "label": "customer label"},
        )  # fmt: skip
        placed = await rig.adapter.place(call)
        request = rig.carrier.requests[-1]
        assert request.method == "POST"
        assert unquote(request.path) == (
            f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{conference_name(CONFERENCE)}"
            "/Participants.json"
        )
        assert request.user == UPSTREAM
        form = form_of(rig)
        assert form["From"] == ["+15005550006"] and form["To"] == [TO]
        assert form["Label"] == [label_for("abc")] == ["rc-abc"]
        assert form["StatusCallback"] == [rig.public_url + CALL_STATUS_PATH]
        assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
        assert form["ConferenceStatusCallback"] == [rig.public_url + CONFERENCE_STATUS_PATH]
        assert set(form["ConferenceStatusCallbackEvent"]) == {
            "start", "end", "join", "leave", "mute", "hold", "modify", "speaker",
            "announcement",
        }  # fmt: skip
        assert form["Timeout"] == ["30"] and form["TimeLimit"] == ["3600"]
        assert form["Muted"] == ["true"] and form["EndConferenceOnExit"] == ["true"]
        assert form["WaitUrl"] == ["http://w/x"] and form["WaitMethod"] == ["POST"]
        # The caller's other Create fields travel; the adapter's own are not overridden.
        assert form["Record"] == ["true"] and form["Region"] == ["ie1"]
        assert placed.call_sid == rig.carrier.calls_to(TO)[0].sid
        assert placed.queue_time_ms == 0.0


async def test_an_api_key_authenticates_while_the_path_names_the_account() -> None:
    async with twilio_rig(api_key=True) as rig:
        await rig.adapter.place(a_call())
        assert rig.carrier.requests[-1].user == UPSTREAM_KEY
        assert f"/Accounts/{UPSTREAM}/" in rig.carrier.requests[-1].path


async def test_every_effect_reaches_the_carrier_with_twilios_fields() -> None:
    async with twilio_rig() as rig:
        placed = await rig.adapter.place(a_call())
        other = await rig.adapter.place(a_call())
        await rig.carrier.let_time_pass(5)
        cases: list[tuple[ParticipantChange, dict[str, list[str]]]] = [
            (Mute(True), {"Muted": ["true"]}),
            (Hold(True, "http://h/x", "POST"), {"Hold": ["true"], "HoldUrl": ["http://h/x"],
                                                "HoldMethod": ["POST"]}),
            (Hold(False), {"Hold": ["false"]}),
            (Announce("http://a/x", "GET"), {"AnnounceUrl": ["http://a/x"],
                                             "AnnounceMethod": ["GET"]}),
            (Coach(True, other.call_sid), {"Coaching": ["true"],
                                           "CallSidToCoach": [other.call_sid]}),
            (Coach(False), {"Coaching": ["false"]}),
            (BeepOnExit(False), {"BeepOnExit": ["false"]}),
            (EndConferenceOnExit(True), {"EndConferenceOnExit": ["true"]}),
            (Wait(None, "GET"), {"WaitUrl": [""], "WaitMethod": ["GET"]}),
        ]  # fmt: skip
        path = (
            f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{placed.conference_sid}"
            f"/Participants/{placed.call_sid}.json"
        )
        for change, expected in cases:
            await rig.adapter.apply(Update(target(placed), (change,)))
            assert (rig.carrier.requests[-1].method, rig.carrier.requests[-1].path) == (
                "POST",
                path,
            )
            assert form_of(rig) == expected, change
        # Several changes of one update travel together, in one request.
        before = len(rig.carrier.requests)
        await rig.adapter.apply(Update(target(placed), (Mute(False), Hold(True))))
        assert len(rig.carrier.requests) == before + 1
        assert form_of(rig) == {"Muted": ["false"], "Hold": ["true"]}

        await rig.adapter.apply(Kick(target(placed)))
        assert (rig.carrier.requests[-1].method, rig.carrier.requests[-1].path) == ("DELETE", path)
        await rig.adapter.apply(EndConference(ConferenceTarget(ACCOUNT, placed.conference_sid)))
        last = rig.carrier.requests[-1]
        assert last.method == "POST"
        assert (
            last.path == f"/2010-04-01/Accounts/{UPSTREAM}/Conferences/{placed.conference_sid}.json"
        )
        assert last.form == [("Status", "completed")]
        assert all(not c.live for c in rig.carrier.network.calls.values())


async def test_429_then_201_places_one_call_after_a_backoff() -> None:
    async with twilio_rig(calls_per_second=0) as rig:
        rig.carrier.fail_next("429")
        placed = await rig.adapter.place(a_call())
        assert len(rig.carrier.placed()) == 2
        assert [c.sid for c in rig.carrier.calls_to(TO)] == [placed.call_sid]
        assert [s for s in rig.sleeps if s > 0] == [1.0], "waits as Retry-After says"


@pytest.mark.parametrize("fault", ["500_after", "drop_after"])
async def test_an_ambiguous_create_is_found_by_its_label_and_not_dialed_again(fault: str) -> None:
    async with twilio_rig() as rig:
        rig.carrier.fail_next(fault)
        found_before = lookups("yes")
        placed = await rig.adapter.place(a_call(key="amb"))
        assert lookups("yes") == found_before + 1
        calls = rig.carrier.calls_to(TO)
        assert [c.sid for c in calls] == [placed.call_sid]
        assert calls[0].label == "rc-amb"
        assert len(rig.carrier.placed()) == 1
        gets = [r.path for r in rig.carrier.requests if r.method == "GET"]
        assert gets[-1].endswith("/Participants/rc-amb.json")


@pytest.mark.parametrize("fault", ["500", "drop"])
async def test_an_ambiguous_create_that_placed_nothing_is_dialed_once_more(fault: str) -> None:
    async with twilio_rig() as rig:
        rig.carrier.fail_next(fault)
        placed = await rig.adapter.place(a_call())
        assert [c.sid for c in rig.carrier.calls_to(TO)] == [placed.call_sid]
        assert len(rig.carrier.placed()) == 2


async def test_placing_the_same_key_again_returns_the_first_call_even_after_a_restart() -> None:
    async with twilio_rig() as rig:
        first = await rig.adapter.place(a_call(key="same"))
        again = await rig.adapter.place(a_call(key="same"))
        assert again == dataclass_without_queue(first)
        restarted = TwilioCarrier(
            {ACCOUNT: UpstreamAccount(UPSTREAM, UPSTREAM_TOKEN)},
            callback_urls(rig.public_url),
            rig.clock,
            TwilioOptions(base_url=rig.carrier.base_url),
            sleep=rig.clock.advance,
        )
        try:
            assert await restarted.place(a_call(key="same")) == dataclass_without_queue(first)
        finally:
            await restarted.close()
        assert len(rig.carrier.calls_to(TO)) == 1


def dataclass_without_queue(placed: Placed) -> Placed:
    return Placed(placed.call_sid, placed.conference_sid, None)


async def test_a_carrier_always_failing_with_500_is_unavailable_after_bounded_attempts() -> None:
    async with twilio_rig() as rig:
        rig.carrier.fail_next("500", times=10)
        with pytest.raises(RollcallError) as caught:
            await rig.adapter.place(a_call())
        assert (caught.value.code, caught.value.reason) == (Code.UNAVAILABLE, "CARRIER_UNAVAILABLE")
        assert len(rig.carrier.placed()) == rig.adapter.options.max_place_attempts
        assert not rig.carrier.calls_to(TO)


async def test_an_ambiguous_create_whose_lookup_fails_is_unavailable_not_refused() -> None:
    async with twilio_rig() as rig:
        rig.carrier.fail_next("500_after")
        # A Twilio-compatible API without the Conferences list answers 404 to the lookup.
        rig.carrier.fail_next("404", method="GET", path="/Conferences.json")
        with pytest.raises(RollcallError) as caught:
            await rig.adapter.place(a_call())
        assert (caught.value.code, caught.value.reason) == (Code.UNAVAILABLE, "CARRIER_UNAVAILABLE")
        assert len(rig.carrier.placed()) == 1


async def test_an_unreachable_carrier_is_unavailable_within_the_bound() -> None:
    async with twilio_rig(
        base_url=f"http://127.0.0.1:{closed_port()}", unavailable_after_seconds=5.0
    ) as rig:
        start = rig.clock.now()
        with pytest.raises(RollcallError) as caught:
            await rig.adapter.place(a_call())
        assert (caught.value.code, caught.value.reason) == (Code.UNAVAILABLE, "CARRIER_UNAVAILABLE")
        assert caught.value.http_status == 503
        assert len([s for s in rig.sleeps if s > 0]) >= 1, "connect failures are retried"
        assert rig.clock.now() - start <= 5.0
        with pytest.raises(RollcallError) as effect:
            await rig.adapter.apply(Kick(CallTarget(ACCOUNT, "CF" + "0" * 32, "CA" + "0" * 32)))
        assert effect.value.reason == "CARRIER_UNAVAILABLE"


async def test_a_carrier_that_stays_rate_limited_is_resource_exhausted() -> None:
    async with twilio_rig(unavailable_after_seconds=3.0) as rig:
        rig.carrier.fail_next("429", times=50)
        with pytest.raises(RollcallError) as caught:
            await rig.adapter.place(a_call())
        assert (caught.value.code, caught.value.reason) == (
            Code.RESOURCE_EXHAUSTED,
            "CARRIER_RATE_LIMITED",
        )
        assert not rig.carrier.calls_to(TO)


async def test_a_hung_create_is_looked_up_and_placed_once() -> None:
    async with twilio_rig(request_timeout_seconds=0.3) as rig:
        rig.carrier.fail_next("hang")
        placed = await rig.adapter.place(a_call())
        assert [c.sid for c in rig.carrier.calls_to(TO)] == [placed.call_sid]


async def test_creates_are_paced_per_upstream_account() -> None:
    async with twilio_rig(calls_per_second=2.0) as rig:
        for _ in range(3):
            await rig.adapter.place(a_call())
        assert [s for s in rig.sleeps if s > 0] == [0.5, 0.5]


async def test_a_call_the_pace_cannot_place_within_the_bound_is_refused_unplaced() -> None:
    # One call per 10 s, a 5 s bound: the second call's slot is out of reach.
    async with twilio_rig(calls_per_second=0.1, unavailable_after_seconds=5.0) as rig:
        await rig.adapter.place(a_call())
        with pytest.raises(RollcallError) as refused:
            await rig.adapter.place(a_call())
        assert refused.value.reason == "CARRIER_CALLS_PER_SECOND"
        assert refused.value.code is Code.RESOURCE_EXHAUSTED
        assert len(rig.carrier.placed()) == 1
        await rig.clock.advance(10.0)  # its slot is free again: the refusal reserved none
        await rig.adapter.place(a_call())
        assert len(rig.carrier.placed()) == 2


async def test_carrier_refusals_carry_the_carriers_twilio_code() -> None:
    async with twilio_rig() as rig:
        with pytest.raises(RollcallError) as caught:
            await rig.adapter.place(a_call(from_endpoint="+15005550001"))
        assert caught.value.twilio_code == 21212
        assert [v.field for v in caught.value.violations] == ["from_endpoint"]
        placed = await rig.adapter.place(a_call())
        await rig.adapter.apply(Kick(target(placed)))
        with pytest.raises(RollcallError) as gone:
            await rig.adapter.apply(Update(target(placed), (Mute(True),)))
        assert (gone.value.code, gone.value.twilio_code) == (Code.NOT_FOUND, 20404)
        assert UPSTREAM not in gone.value.message


async def test_refused_credentials_and_unknown_accounts_are_typed_and_leak_nothing() -> None:
    async with twilio_rig() as rig:
        with pytest.raises(RollcallError) as unknown:
            await rig.adapter.place(a_call(account_sid="AC" + "9" * 32))
        assert unknown.value.reason == "CARRIER_NOT_CONFIGURED"
        rig.adapter._accounts[ACCOUNT] = UpstreamAccount(UPSTREAM, "wrong-token")
        with pytest.raises(RollcallError) as refused:
            await rig.adapter.place(a_call())
        assert (refused.value.code, refused.value.reason) == (
            Code.UNAVAILABLE,
            "CARRIER_CREDENTIALS_REJECTED",
        )
        assert "wrong-token" not in repr(refused.value.__dict__)
        assert "wrong-token" not in repr(rig.adapter._accounts[ACCOUNT])


async def test_reconcile_reads_calls_back_from_the_carrier() -> None:
    async with twilio_rig() as rig:
        rig.carrier.delivery = "none"  # Rollcall was down: every callback is missed
        ended = await rig.adapter.place(a_call(key="ended", time_limit_seconds=10))
        live = await rig.adapter.place(a_call(key="live"))
        await rig.carrier.let_time_pass(30)

        def open_call(key: str, placed: Placed | None) -> OpenCall:
            return OpenCall(
                ACCOUNT, key, CONFERENCE,
                None if placed is None else placed.call_sid,
                None if placed is None else placed.conference_sid,
                TO, 3600,
            )  # fmt: skip

        reports = await rig.adapter.reconcile(
            [
                open_call("ended", ended),
                open_call("live", live),
                open_call("live", None),  # stopped before the carrier's answer was stored
                open_call("never", None),  # stopped before it was placed
            ]
        )
        assert [(r.key, r.call_sid, r.status) for r in reports] == [
            ("ended", ended.call_sid, CallStatus.COMPLETED),
            ("live", live.call_sid, CallStatus.IN_PROGRESS),
            ("live", live.call_sid, CallStatus.IN_PROGRESS),
            ("never", "", CallStatus.FAILED),
        ]
        assert reports[0].duration_seconds == 9 or reports[0].duration_seconds == 10
        assert reports[2].conference_sid == live.conference_sid
        assert not rig.received.items


def test_upstream_accounts_parse_and_refuse_without_echoing_secrets() -> None:
    local = "AC" + "1" * 32
    parsed = parse_upstream_accounts(
        f"{local}={UPSTREAM}:{UPSTREAM_TOKEN}:{UPSTREAM_KEY}:keysecret, "
    )
    assert parsed[local].basic_auth == (UPSTREAM_KEY, "keysecret")
    assert parsed[local].auth_token == UPSTREAM_TOKEN
    plain = parse_upstream_accounts(f"{local}={UPSTREAM}:{UPSTREAM_TOKEN}")
    assert plain[local].basic_auth == (UPSTREAM, UPSTREAM_TOKEN)
    for bad in (
        f"{local}={UPSTREAM}",
        f"{local}=nope:secret-one",
        f"{local}={UPSTREAM}:secret-one:XX:secret-two",
        f"{local}={UPSTREAM}:secret-one,{local}={UPSTREAM}:secret-one",
        "ACshort=x:secret-one",
    ):
        with pytest.raises(ValueError, match="upstream account") as caught:
            parse_upstream_accounts(bad)
        assert "secret" not in str(caught.value)


def test_callbacks_are_checked_with_the_upstream_token_and_touch_only_its_tenants() -> None:
    one, two, three = "AC" + "1" * 32, "AC" + "2" * 32, "AC" + "3" * 32
    other = "AC" + "8" * 32
    accounts = parse_upstream_accounts(
        f"{one}={UPSTREAM}:{UPSTREAM_TOKEN},{two}={UPSTREAM}:{UPSTREAM_TOKEN},{three}={other}:t3"
    )
    assert signing_tokens(accounts) == {UPSTREAM: UPSTREAM_TOKEN, other: "t3"}
    assert tenants(accounts) == {UPSTREAM: frozenset({one, two}), other: frozenset({three})}
