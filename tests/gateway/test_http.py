"""The gateway's HTTP layer on a real port, over the real service (recorded).

These check what only the HTTP face decides: routes and methods, bodies and
content types, header mappings (Idempotency-Key, If-Match, ETag), and page
envelopes and URIs. Errors and authentication are in test_http_errors.py.
"""

from __future__ import annotations

from urllib.parse import quote
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import render
from tests.gateway.conftest import TwilioEnv, basic
from tests.gateway.http_helpers import (
    FORM,
    collection,
    create,
    instance,
    raw_http,
    twilio_error,
)
from tests.gateway.recording_upstream import RecordingUpstream
from tests.gateway.schemas import LIST_VALIDATOR, PARTICIPANT_VALIDATOR

# -- success paths -----------------------------------------------------------


async def test_create_answers_201_with_participant_json_and_etag(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    data = [
        ("From", "+15005550006"),
        ("To", "+15558675310"),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing answered"),
        ("Muted", "True"),
        ("WaitUrl", ""),
        ("Label", "agent"),
        ("EmergencyName", "ignored"),
    ]
    # The service dials one call a second: this one waits a second for its slot.
    await create(http, twilio_env, "Earlier")
    async with http.post(
        collection(twilio_env, "Room%201"), data=data, headers={"Idempotency-Key": "k-1"}
    ) as response:
        assert response.status == 201
        assert response.content_type == "application/json"
        body = await response.json()
        assert response.headers["ETag"] == '"1"'
    assert tuple(body) == render.JSON_KEYS
    PARTICIPANT_VALIDATOR.validate(body)
    assert body["muted"] is True
    assert body["label"] == "agent"
    assert body["queue_time"] == "1000"
    assert body["uri"] == instance(twilio_env, body["conference_sid"], body["call_sid"])
    sent = upstream.last("create")
    assert isinstance(sent, pb.CreateParticipantRequest)
    assert sent.parent == f"accounts/{twilio_env.account_sid}/conferences/Room 1"
    assert sent.request_id == "k-1"
    assert list(sent.status_callback_event) == [
        enums_pb2.CALL_EVENT_INITIATED,
        enums_pb2.CALL_EVENT_RINGING,
        enums_pb2.CALL_EVENT_ANSWERED,
    ]
    assert sent.HasField("wait_url")
    assert sent.wait_url == ""
    assert upstream.calls[-1].authorization == basic(twilio_env.account_sid, twilio_env.auth_token)


async def test_idempotency_key_replays_the_first_result(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv
) -> None:
    headers = {"Idempotency-Key": "same"}
    data = {"From": "+15005550006", "To": "+15558675310"}
    bodies = []
    for _ in range(2):
        async with http.post(collection(twilio_env, "R"), data=data, headers=headers) as r:
            assert r.status == 201
            bodies.append(await r.json())
    assert bodies[0]["call_sid"] == bodies[1]["call_sid"]


@pytest.mark.parametrize(
    "content_type", [FORM, f"{FORM}; charset=utf-8", "Application/X-WWW-Form-Urlencoded"]
)
async def test_form_content_types_are_accepted(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, content_type: str
) -> None:
    async with http.post(
        collection(twilio_env, "R"),
        data="From=%2B15005550006&To=client%3Abob&Label=b%C3%BC",
        headers={"Content-Type": content_type},
    ) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["label"] == "bü"  # the body is read as UTF-8


async def test_fetch_by_label_decodes_the_path_and_uri_uses_the_call_sid(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    created = await create(http, twilio_env, Label="agent one ü+1")
    conference = created["conference_sid"]
    path = instance(twilio_env, conference, quote("agent one ü+1"))
    async with http.get(path) as response:
        assert response.status == 200
        body = await response.json()
        # Dialing and ringing (revisions 2, 3) were committed with the Create.
        assert response.headers["ETag"] == '"3"'
    sent = upstream.last("fetch")
    assert isinstance(sent, pb.FetchParticipantRequest)
    assert sent.name.endswith("/participants/agent one ü+1")
    assert body["call_sid"] == created["call_sid"]
    assert body["uri"] == instance(twilio_env, conference, created["call_sid"])
    assert body["queue_time"] is None
    PARTICIPANT_VALIDATOR.validate(body)


async def test_update_maps_if_match_to_etag_and_refuses_a_stale_one(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    created = await create(http, twilio_env)
    path = instance(twilio_env, created["conference_sid"], created["call_sid"])
    # The Create answers queued at revision 1; its dialing and ringing (2, 3)
    # were committed with it, so "3" is current.
    async with http.post(
        path, data={"Hold": "true", "AnnounceUrl": ""}, headers={"If-Match": '"3"'}
    ) as response:
        assert response.status == 200
        body = await response.json()
        assert response.headers["ETag"] == '"4"'
    assert body["hold"] is True
    sent = upstream.last("update")
    assert isinstance(sent, pb.UpdateParticipantRequest)
    assert sent.etag == '"3"'
    assert sent.HasField("announce_url")
    async with http.post(path, data={"Muted": "true"}, headers={"If-Match": '"3"'}) as response:
        await twilio_error(response, 412, 412)
    async with http.post(path, data={"Muted": "true"}, headers={"If-Match": "*"}) as response:
        assert response.status == 200
    assert upstream.last("update").etag == ""  # type: ignore[attr-defined]


async def test_bodyless_post_without_content_type_is_an_empty_update(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    created = await create(http, twilio_env)
    path = instance(twilio_env, created["conference_sid"], created["call_sid"])
    async with http.post(path) as response:
        assert response.status == 200
    assert upstream.last("update") == pb.UpdateParticipantRequest(
        name=f"accounts/{twilio_env.account_sid}/conferences/{created['conference_sid']}"
        f"/participants/{created['call_sid']}"
    )


async def test_delete_answers_204_with_no_body_and_no_content_type(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    created = await create(http, twilio_env, Label="bye")
    path = instance(twilio_env, created["conference_sid"], "bye")
    # The Create's own etag is stale: its dialing and ringing were committed with it.
    async with http.delete(path, headers={"If-Match": '"1"'}) as response:
        await twilio_error(response, 412, 412)
    async with http.delete(path, headers={"If-Match": '"3"'}) as response:
        assert response.status == 204
        assert "Content-Type" not in response.headers
        assert await response.read() == b""
    assert upstream.last("delete").etag == '"3"'  # type: ignore[attr-defined]
    async with http.get(path) as response:
        await twilio_error(response, 404, 20404)


async def test_list_envelope_filters_and_paging_through_next_page_uri(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    first = await create(http, twilio_env, Muted="true")
    conference = first["conference_sid"]
    for muted in ("false", "true", "true", "false", "true"):
        await create(http, twilio_env, conference, Muted=muted)
    base = collection(twilio_env, conference)
    uri: str | None = f"{base}?Muted=true&PageSize=2&Unknown=x"
    pages = []
    while uri:
        async with http.get(uri) as response:
            assert response.status == 200
            page = await response.json()
        assert tuple(page) == render.PAGE_KEYS
        LIST_VALIDATOR.validate(page)
        pages.append(page)
        uri = page["next_page_uri"]
    assert [len(p["participants"]) for p in pages] == [2, 2]
    assert all(p["muted"] for page in pages for p in page["participants"])
    assert [(p["page"], p["start"], p["end"]) for p in pages] == [(0, 0, 1), (1, 2, 3)]
    assert pages[0]["uri"] == f"{base}?Muted=true&PageSize=2&Page=0"
    assert pages[0]["previous_page_uri"] is None
    assert pages[1]["first_page_uri"] == f"{base}?Muted=true&PageSize=2&Page=0"
    assert pages[1]["uri"].startswith(f"{base}?Muted=true&PageSize=2&Page=1&PageToken=")
    assert pages[1]["next_page_uri"] is None
    # Back again through previous_page_uri.
    async with http.get(pages[1]["previous_page_uri"]) as response:
        back = await response.json()
    assert [p["call_sid"] for p in back["participants"]] == [
        p["call_sid"] for p in pages[0]["participants"]
    ]
    sent = upstream.last("list")
    assert isinstance(sent, pb.ListParticipantsRequest)
    assert sent.muted is True
    assert sent.page_size == 2


async def test_list_defaults_and_clamps_page_size(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    created = await create(http, twilio_env)
    base = collection(twilio_env, created["conference_sid"])
    async with http.get(base, headers={"Content-Type": FORM}) as response:
        page = await response.json()
    assert page["page_size"] == 50
    assert page["uri"] == f"{base}?PageSize=50&Page=0"
    async with http.get(f"{base}?PageSize=5000") as response:
        assert (await response.json())["page_size"] == 1000
    assert upstream.last("list").page_size == 1000  # type: ignore[attr-defined]


@pytest.mark.parametrize("query", ["PageSize=0", "PageSize=x", "Page=-1", "Hold=perhaps"])
async def test_bad_list_parameters_are_400(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, query: str
) -> None:
    async with http.get(f"{collection(twilio_env, 'CF' + '0' * 32)}?{query}") as response:
        await twilio_error(response, 400, 400)


# -- requests the gateway refuses itself ------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("PUT", "/Participants/CA" + "1" * 32 + ".json"),
        ("PATCH", "/Participants/CA" + "1" * 32 + ".json"),
        ("DELETE", "/Participants.json"),
        ("PUT", "/Participants.json"),
    ],
)
async def test_other_methods_are_405_with_20004(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, method: str, suffix: str
) -> None:
    path = f"/2010-04-01/Accounts/{twilio_env.account_sid}/Conferences/CF{'2' * 32}{suffix}"
    async with http.request(method, path) as response:
        await twilio_error(response, 405, 20004)
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/2010-04-01/Accounts/{account}/Calls.json",
        "/2010-04-01/Accounts/{account}/Conferences/CF1/Participants.yaml",
        "/2010-04-01/Accounts/{account}/Conferences/CF1/Participants.txt",
        "/2010-04-01/Accounts/{account}/Conferences/CF1/Participants/a/b?c",
        "/2010-04-01/Accounts/{account}/Conferences/CF1/Participants/a%2Fb.json",
        "/2010-04-01/Accounts/{account}/Conferences/x%2Fy/Participants.json",
    ],
)
async def test_unknown_paths_are_404_with_20404(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream, path: str
) -> None:
    path = path.format(account=twilio_env.account_sid)
    bare = path.split("?")[0]
    async with http.get(path) as response:
        if bare.endswith(".json"):
            message = await twilio_error(response, 404, 20404)
        else:  # no suffix Twilio knows: its 2010 default, XML
            assert (response.status, response.content_type) == (404, "application/xml")
            root = ET.fromstring(await response.text())  # noqa: S314 - our own server
            assert root.findtext("RestException/Code") == "20404"
            message = root.findtext("RestException/Message") or ""
    assert message == f"The requested resource {bare} was not found"
    assert upstream.calls == []


async def test_non_form_content_type_on_post_is_400(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    path = collection(twilio_env, "R")
    async with http.post(path, json={"From": "+15005550006", "To": "+1555"}) as response:
        message = await twilio_error(response, 400, 400)
    assert "Content-Type" in message
    async with http.post(path, data=b"From=x", headers={"Content-Type": ""}) as response:
        await twilio_error(response, 400, 400)
    form_data = aiohttp.FormData({"From": "x"}, default_to_multipart=True)
    async with http.post(path, data=form_data) as response:
        await twilio_error(response, 400, 400)
    assert upstream.calls == []


async def test_a_body_without_content_type_is_400(
    twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    body = b"From=%2B15005550006&To=%2B15558675310"
    reply = await raw_http(twilio_env, f"POST {collection(twilio_env, 'R')}", body)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b'"code": 400' in reply
    assert upstream.calls == []


async def test_headers_that_are_not_utf8_are_400(
    twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    body = b"From=%2B15005550006&To=%2B15558675310"
    reply = await raw_http(
        twilio_env,
        f"POST {collection(twilio_env, 'R')}",
        body,
        b"Content-Type: application/x-www-form-urlencoded\r\nIdempotency-Key: caf\xe9\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"Idempotency-Key" in reply
    assert upstream.calls == []


async def test_bodies_over_64_kib_are_413(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    data = {"From": "+15005550006", "To": "+15558675310", "Padding": "x" * (64 * 1024)}
    async with http.post(collection(twilio_env, "R"), data=data) as response:
        await twilio_error(response, 413, 413)
    assert upstream.calls == []


async def test_bad_values_are_400_with_the_field_named(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    data = {"From": "+15005550006", "To": "+15558675310", "Timeout": "soon"}
    async with http.post(collection(twilio_env, "R"), data=data) as response:
        message = await twilio_error(response, 400, 400)
    assert "Timeout" in message
    async with http.post(
        collection(twilio_env, "R"), data={**data, "Timeout": "9", "Region": "x"}
    ) as r:
        await twilio_error(r, 400, 16002)
    assert upstream.calls == []
