"""The unmodified twilio SDK's `client.conferences` against the real server.

Runs against the server's in-process gateway and a standalone gateway in
front of its gRPC port (both go through the same Upstream interface). Every
JSON body read raw beside the SDK validates against Twilio's Conference
schemas (conference_schemas.py).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from tests import conftest as server_conftest
from tests.gateway.conference_schemas import CONFERENCE_VALIDATOR, LIST_VALIDATOR
from tests.gateway.conftest import TwilioClientFactory, TwilioEnv, _clients, basic

DAY = 86400
FROM = "+15005550006"


@pytest.fixture(params=["server", "standalone"])
def env(request: pytest.FixtureRequest) -> TwilioEnv:
    chosen: TwilioEnv = request.getfixturevalue(f"{request.param}_sdk_env")
    return chosen


@pytest.fixture
def client(env: TwilioEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioClientFactory]:
    yield from _clients(env, monkeypatch)


async def get_json(env: TwilioEnv, path: str) -> Any:
    async with (
        aiohttp.ClientSession(
            base_url=env.base_url, headers={"Authorization": basic(env.account_sid, env.auth_token)}
        ) as http,
        http.get(path) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def add(client: Any, room: str, to: str = "+15558670001") -> Any:
    return await asyncio.to_thread(client.conferences(room).participants.create, from_=FROM, to=to)


@pytest.mark.slow
async def test_list_filters_and_pages(
    client: TwilioClientFactory, env: TwilioEnv, harness: server_conftest.Harness
) -> None:
    sdk = client()
    for n in range(3):
        await add(sdk, f"daily {n}")
        await harness.advance(DAY)
    listed = await asyncio.to_thread(sdk.conferences.list)
    assert [c.friendly_name for c in listed] == ["daily 2", "daily 1", "daily 0"]
    # A day outlasts every call's time limit: each conference has ended by now.
    assert all(c.status == "completed" and c.api_version == "2010-04-01" for c in listed)
    paged = await asyncio.to_thread(sdk.conferences.list, page_size=1)
    assert [c.sid for c in paged] == [c.sid for c in listed]
    named = await asyncio.to_thread(sdk.conferences.list, friendly_name="daily 1")
    assert [c.friendly_name for c in named] == ["daily 1"]
    first_day = datetime.datetime.fromtimestamp(harness.clock.now() - 3 * DAY, datetime.UTC).date()
    on_day = await asyncio.to_thread(sdk.conferences.list, date_created=first_day)
    assert [c.friendly_name for c in on_day] == ["daily 0"]
    after = await asyncio.to_thread(
        sdk.conferences.list, date_created_after=first_day + datetime.timedelta(days=1)
    )
    assert [c.friendly_name for c in after] == ["daily 2", "daily 1"]
    up_to = await asyncio.to_thread(
        sdk.conferences.list, date_created_before=first_day + datetime.timedelta(days=1)
    )
    assert [c.friendly_name for c in up_to] == ["daily 1", "daily 0"]
    assert await asyncio.to_thread(sdk.conferences.list, status="in-progress") == []
    assert len(await asyncio.to_thread(sdk.conferences.list, status="completed")) == 3

    base = f"/2010-04-01/Accounts/{env.account_sid}/Conferences.json"
    page = await get_json(env, base + "?PageSize=2&DateCreated%3E=2000-01-01")
    LIST_VALIDATOR.validate(page)
    assert page["next_page_uri"].startswith(base + "?DateCreated%3E=2000-01-01&PageSize=2&Page=1")
    for record in page["conferences"]:
        CONFERENCE_VALIDATOR.validate(record)


async def test_fetch_end_and_announce(
    client: TwilioClientFactory, env: TwilioEnv, harness: server_conftest.Harness
) -> None:
    sdk = client()
    first = await add(sdk, "all hands")
    await add(sdk, "all hands", to="+15558670002")
    await harness.advance(3)  # both connected: the conference is in progress
    conference = await asyncio.to_thread(sdk.conferences(first.conference_sid).fetch)
    assert conference.status == "in-progress"
    assert conference.friendly_name == "all hands"
    assert conference.reason_conference_ended is None
    path = f"/2010-04-01/Accounts/{env.account_sid}/Conferences/{conference.sid}.json"
    CONFERENCE_VALIDATOR.validate(await get_json(env, path))

    announced = await asyncio.to_thread(
        sdk.conferences(conference.sid).update,
        announce_url="https://example.com/announce.xml",
        announce_method="GET",
    )
    assert announced.status == "in-progress"

    ended = await asyncio.to_thread(sdk.conferences(conference.sid).update, status="completed")
    assert ended.status == "completed"
    assert ended.reason_conference_ended == "conference-ended-via-api"
    assert ended.call_sid_ending_conference is None
    body = await get_json(env, path)
    CONFERENCE_VALIDATOR.validate(body)
    assert body["subresource_uris"]["participants"] == path.removesuffix(".json") + (
        "/Participants.json"
    )
    left = await asyncio.to_thread(sdk.conferences(conference.sid).participants.list)
    assert left == []

    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(
            sdk.conferences(conference.sid).update, announce_url="https://example.com/late"
        )
    assert (caught.value.status, caught.value.code) == (400, 16022)
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(sdk.conferences("CF" + "0" * 32).fetch)
    assert (caught.value.status, caught.value.code) == (404, 20404)
    other = client(env.other_account_sid, env.other_auth_token)
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(
            other.api.v2010.accounts(env.account_sid).conferences(conference.sid).fetch
        )
    assert caught.value.status == 404
