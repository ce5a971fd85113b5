"""Raw HTTP against every `sdk_env`: responses validate and the extensions hold.

Runs against the real server's in-process gateway and a standalone gateway
in front of the real server, so it checks what the real service returns, not
just what the gateway would render: every body
validates against Twilio's schemas, errors have Twilio's shape, and the
Idempotency-Key / If-Match / ETag extensions work end to end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from service.gateway import render
from tests.gateway.conftest import TwilioEnv, basic
from tests.gateway.http_helpers import collection, instance, twilio_error
from tests.gateway.schemas import LIST_VALIDATOR, PARTICIPANT_VALIDATOR


@pytest.fixture
async def client(sdk_env: TwilioEnv) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=sdk_env.base_url,
        headers={"Authorization": basic(sdk_env.account_sid, sdk_env.auth_token)},
    ) as session:
        yield session


async def participant(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert tuple(body) == render.JSON_KEYS
    PARTICIPANT_VALIDATOR.validate(body)
    assert response.headers["ETag"].startswith('"')
    return body


async def test_a_participant_lifecycle_validates_end_to_end(
    client: aiohttp.ClientSession, sdk_env: TwilioEnv
) -> None:
    room = quote(f"conformance {uuid.uuid4().hex[:8]}")
    form = {"From": "+15005550006", "To": "+15558675310", "Label": "agent one"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    async with client.post(collection(sdk_env, room), data=form, headers=key) as response:
        created = await participant(response, 201)
        first_etag = response.headers["ETag"]
    async with client.post(collection(sdk_env, room), data=form, headers=key) as response:
        assert (await participant(response, 201))["call_sid"] == created["call_sid"]
    conference, call = created["conference_sid"], created["call_sid"]
    assert created["uri"] == instance(sdk_env, conference, call)

    by_label = instance(sdk_env, conference, "agent%20one")
    async with client.get(by_label) as response:
        fetched = await participant(response, 200)
        # The Create answered queued at its first revision; dialing and
        # ringing were committed with it, so the etag has moved on.
        fetched_etag = response.headers["ETag"]
    assert fetched["call_sid"] == call
    assert fetched["uri"] == created["uri"]
    assert fetched_etag != first_etag

    async with client.post(
        by_label, data={"Muted": "true"}, headers={"If-Match": fetched_etag}
    ) as response:
        assert (await participant(response, 200))["muted"] is True
        assert response.headers["ETag"] != fetched_etag
    async with client.post(by_label, data={"Hold": "true"}, headers={"If-Match": first_etag}) as r:
        await twilio_error(r, 412, 412)

    async with client.get(f"{collection(sdk_env, conference)}?Muted=true&PageSize=1") as response:
        assert response.status == 200
        page = await response.json()
    assert tuple(page) == render.PAGE_KEYS
    LIST_VALIDATOR.validate(page)
    assert [p["call_sid"] for p in page["participants"]] == [call]
    assert page["uri"] == f"{collection(sdk_env, conference)}?Muted=true&PageSize=1&Page=0"

    async with client.delete(by_label) as response:
        assert response.status == 204
        assert "Content-Type" not in response.headers
        assert await response.read() == b""
    async with client.get(by_label) as response:
        message = await twilio_error(response, 404, 20404)
    assert message == f"The requested resource {by_label} was not found"


async def test_refusals_have_twilio_error_shape(
    client: aiohttp.ClientSession, sdk_env: TwilioEnv
) -> None:
    conference = "CF" + "9" * 32
    async with client.put(instance(sdk_env, conference, "x")) as response:
        await twilio_error(response, 405, 20004)
    async with client.get(f"/2010-04-01/Accounts/{sdk_env.account_sid}/Calls.json") as response:
        await twilio_error(response, 404, 20404)
    async with client.get(collection(sdk_env, conference)) as response:
        await twilio_error(response, 404, 20404)
    foreign = collection(sdk_env, conference).replace(
        sdk_env.account_sid, sdk_env.other_account_sid
    )
    async with client.get(foreign) as response:
        await twilio_error(response, 404, 20404)
    malformed = collection(sdk_env, conference).replace(sdk_env.account_sid, "ACnot-a-sid")
    async with client.get(malformed) as response:
        await twilio_error(response, 404, 20404)
    async with client.post(collection(sdk_env, "R"), json={"From": "x"}) as response:
        await twilio_error(response, 400, 400)
    async with (
        aiohttp.ClientSession(base_url=sdk_env.base_url) as anonymous,
        anonymous.get(collection(sdk_env, conference)) as response,
    ):
        await twilio_error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
