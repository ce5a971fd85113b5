"""The unmodified twilio SDK (9.13.0) against the gateway on a real port.

These tests depend only on `sdk_env` and `twilio_client`, so each runs against
the real server's in-process gateway and a
standalone gateway in front of the real server's gRPC port. The SDK is
synchronous; every call runs in a thread while the gateway serves on the
test's event loop.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.gateway.conftest import TwilioClientFactory, TwilioEnv

STATUSES = {"queued", "connecting", "ringing", "connected", "complete", "failed"}
FROM = "+15005550006"


def room() -> str:
    return f"sdk room {uuid.uuid4().hex[:8]}"


def number(n: int) -> str:
    return f"+1555867{n:04d}"


async def rest_error(call: Any, *args: Any, **kwargs: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(call, *args, **kwargs)
    return caught.value


async def test_create_with_every_kind_of_parameter(twilio_client: TwilioClientFactory) -> None:
    client = twilio_client()
    participants = client.conferences(room()).participants
    created = await asyncio.to_thread(
        participants.create,
        from_=FROM,
        to=number(1),
        status_callback="https://example.com/status",
        status_callback_method="get",
        status_callback_event=["initiated", "ringing"],  # repeated keys
        conference_status_callback_event="start end join",  # one space-separated value
        recording_status_callback_event=["in-progress", "completed"],
        label="agent",
        timeout=15,
        record=False,
        muted=True,
        beep="onEnter",
        start_conference_on_enter="True",  # strings are lowercased by the SDK
        end_conference_on_exit=False,
        wait_url="",  # empty string: "play nothing"
        wait_method="GET",
        early_media=False,
        max_participants=10,
        conference_record="record-from-start",
        conference_trim="trim-silence",
        recording_channels="dual",
        region="us1",
        jitter_buffer_size="small",
        recording_track="both",
        time_limit=600,
        machine_detection="Enable",
        machine_detection_timeout=30,
        trim="do-not-trim",
        emergency_name="unknown to the spec",  # sent by the SDK, not in the spec
    )
    assert created.call_sid.startswith("CA")
    assert created.conference_sid.startswith("CF")
    assert created.label == "agent"
    assert created.muted is True
    assert created.hold is False
    assert created.start_conference_on_enter is True
    assert created.end_conference_on_exit is False
    assert created.status in STATUSES
    assert isinstance(created.date_created, datetime.datetime)
    assert created.date_created.tzinfo is not None
    assert created.uri.endswith(f"/Participants/{created.call_sid}.json")


async def test_fetch_update_delete_by_label_with_spaces_and_non_ascii(
    twilio_client: TwilioClientFactory,
) -> None:
    client = twilio_client()
    label = "agent one ü"
    created = await asyncio.to_thread(
        client.conferences(room()).participants.create, from_=FROM, to=number(2), label=label
    )
    context = client.conferences(created.conference_sid).participants(label)

    fetched = await asyncio.to_thread(context.fetch)
    assert fetched.call_sid == created.call_sid
    assert fetched.label == label
    assert fetched.uri == created.uri  # always by call SID

    updated = await asyncio.to_thread(
        context.update,
        muted=True,
        hold=True,
        hold_url="",
        announce_url="",
        beep_on_exit="True",
        end_conference_on_exit=True,
    )
    assert (updated.muted, updated.hold, updated.end_conference_on_exit) == (True, True, True)
    assert updated.call_sid == created.call_sid

    assert await asyncio.to_thread(context.delete) is True
    error = await rest_error(context.fetch)
    assert (error.status, error.code) == (404, 20404)


async def test_coaching_by_update(twilio_client: TwilioClientFactory) -> None:
    client = twilio_client()
    customer = await asyncio.to_thread(
        client.conferences(room()).participants.create, from_=FROM, to=number(3)
    )
    participants = client.conferences(customer.conference_sid).participants
    coach = await asyncio.to_thread(participants.create, from_=FROM, to=number(4))
    updated = await asyncio.to_thread(
        participants(coach.call_sid).update, coaching=True, call_sid_to_coach=customer.call_sid
    )
    assert updated.coaching is True
    assert updated.call_sid_to_coach == customer.call_sid


async def test_list_with_filters_across_pages(twilio_client: TwilioClientFactory) -> None:
    client = twilio_client()
    first = await asyncio.to_thread(
        client.conferences(room()).participants.create, from_=FROM, to=number(10), muted=True
    )
    participants = client.conferences(first.conference_sid).participants
    sids = [first.call_sid]
    for n, mute in enumerate((False, True, False, True), start=11):
        made = await asyncio.to_thread(participants.create, from_=FROM, to=number(n), muted=mute)
        sids.append(made.call_sid)
    muted_sids = {sids[0], sids[2], sids[4]}

    everyone = await asyncio.to_thread(participants.list, page_size=2, limit=5)
    assert [p.call_sid for p in everyone] == sids  # oldest first, over 3 pages

    # Filters must survive into next_page_uri: the SDK does not add them back.
    muted = await asyncio.to_thread(participants.list, muted=True, page_size=2)
    assert {p.call_sid for p in muted} == muted_sids
    assert all(p.muted for p in muted)
    unmuted = await asyncio.to_thread(participants.list, muted=False, page_size=1)
    assert {p.call_sid for p in unmuted} == set(sids) - muted_sids

    limited = await asyncio.to_thread(participants.list, limit=3)
    assert [p.call_sid for p in limited] == sids[:3]

    page = await asyncio.to_thread(participants.page, page_size=2)
    second = await asyncio.to_thread(page.next_page)
    assert [p.call_sid for p in second] == sids[2:4]
    back = await asyncio.to_thread(second.previous_page)
    assert [p.call_sid for p in back] == sids[:2]
    assert await asyncio.to_thread(participants.list, hold=True) == []


async def test_api_key_credentials(sdk_env: TwilioEnv, twilio_client: TwilioClientFactory) -> None:
    client = twilio_client(
        sdk_env.api_key_sid, sdk_env.api_key_secret, account_sid=sdk_env.account_sid
    )
    created = await asyncio.to_thread(
        client.conferences(room()).participants.create, from_=FROM, to=number(20), label="k"
    )
    assert created.account_sid == sdk_env.account_sid
    fetched = await asyncio.to_thread(
        client.conferences(created.conference_sid).participants("k").fetch
    )
    assert fetched.call_sid == created.call_sid
    wrong = twilio_client(sdk_env.api_key_sid, "wrong", account_sid=sdk_env.account_sid)
    error = await rest_error(
        wrong.conferences(created.conference_sid).participants(created.call_sid).fetch
    )
    assert (error.status, error.code) == (401, 20003)


async def test_errors_surface_as_twilio_rest_exception(
    sdk_env: TwilioEnv, twilio_client: TwilioClientFactory
) -> None:
    client = twilio_client()
    created = await asyncio.to_thread(
        client.conferences(room()).participants.create, from_=FROM, to=number(30), label="taken"
    )
    conference = client.conferences(created.conference_sid)

    missing = await rest_error(conference.participants("CA" + "0" * 32).fetch)
    assert (missing.status, missing.code, missing.method) == (404, 20404, "GET")
    assert "was not found" in missing.msg

    gone = await rest_error(conference.participants("nobody").delete)
    assert (gone.status, gone.code, gone.method) == (404, 20404, "DELETE")

    bad_token = twilio_client(sdk_env.account_sid, "not-the-token")
    denied = await rest_error(
        bad_token.conferences(created.conference_sid).participants.create, from_=FROM, to=number(31)
    )
    assert (denied.status, denied.code) == (401, 20003)

    # Another account sees nothing of this one, whichever account the path names.
    other = twilio_client(sdk_env.other_account_sid, sdk_env.other_auth_token)
    foreign = other.api.v2010.accounts(sdk_env.account_sid).conferences(created.conference_sid)
    error = await rest_error(foreign.participants(created.call_sid).fetch)
    assert (error.status, error.code) == (404, 20404)
    error = await rest_error(other.conferences(created.conference_sid).participants("taken").fetch)
    assert (error.status, error.code) == (404, 20404)

    timeout = await rest_error(
        conference.participants.create, from_=FROM, to=number(32), timeout="soon"
    )
    assert timeout.status == 400
    assert "Timeout" in timeout.msg
    beep = await rest_error(conference.participants.create, from_=FROM, to=number(33), beep="maybe")
    assert beep.status == 400
    assert "Beep" in beep.msg
    region = await rest_error(
        conference.participants.create, from_=FROM, to=number(34), region="mars1"
    )
    assert (region.status, region.code) == (400, 16002)
    no_from = await rest_error(conference.participants.create, from_="", to=number(35))
    assert (no_from.status, no_from.code) == (400, 21213)
    label = await rest_error(
        conference.participants.create, from_=FROM, to=number(36), label="taken"
    )
    assert (label.status, label.code) == (400, 16026)

    # Update is POST: any other method is Twilio's 405 / 20004.
    put = await rest_error(
        client.api.v2010.update,
        method="PUT",
        uri=f"/Accounts/{sdk_env.account_sid}/Conferences/{created.conference_sid}"
        f"/Participants/{created.call_sid}.json",
        data={"Muted": "true"},
    )
    assert (put.status, put.code) == (405, 20004)


async def test_listing_an_unknown_conference_fails_the_page(
    twilio_client: TwilioClientFactory,
) -> None:
    # The python SDK reports any non-200 page as a plain TwilioException.
    participants = twilio_client().conferences("CF" + "0" * 32).participants
    with pytest.raises(TwilioException) as caught:
        await asyncio.to_thread(participants.list)
    assert caught.value.args[0] == "Unable to fetch page"
    assert caught.value.args[1].status_code == 404
