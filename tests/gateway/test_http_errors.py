"""Errors over HTTP: authentication, tenancy, and every service error in Twilio's shape."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from service.core import errors
from service.gateway.status import from_status
from tests.gateway.conftest import TwilioClientFactory, TwilioEnv, basic
from tests.gateway.http_helpers import collection, create, instance, twilio_error
from tests.gateway.memory_upstream import InMemoryUpstream

# -- authentication and tenancy ---------------------------------------------


async def test_missing_credentials_are_401_with_www_authenticate(
    twilio_env: TwilioEnv, upstream: InMemoryUpstream
) -> None:
    async with (
        aiohttp.ClientSession(base_url=twilio_env.base_url) as anonymous,
        anonymous.get(collection(twilio_env, "CF" + "3" * 32)) as response,
    ):
        await twilio_error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
    assert upstream.calls[-1].authorization is None


async def test_bad_credentials_are_401(twilio_env: TwilioEnv) -> None:
    wrong = {"Authorization": basic(twilio_env.account_sid, "not-the-token")}
    async with (
        aiohttp.ClientSession(base_url=twilio_env.base_url, headers=wrong) as session,
        session.post(collection(twilio_env, "R"), data={"From": "a", "To": "b"}) as response,
    ):
        await twilio_error(response, 401, 20003)
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'


async def test_another_accounts_resources_are_404(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv
) -> None:
    created = await create(http, twilio_env)
    other = {"Authorization": basic(twilio_env.other_account_sid, twilio_env.other_auth_token)}
    path = instance(twilio_env, created["conference_sid"], created["call_sid"])
    async with aiohttp.ClientSession(base_url=twilio_env.base_url, headers=other) as session:
        async with session.get(path) as response:
            message = await twilio_error(response, 404, 20404)
        assert message == f"The requested resource {path} was not found"
        own = path.replace(twilio_env.account_sid, twilio_env.other_account_sid)
        async with session.get(own) as response:
            await twilio_error(response, 404, 20404)


# -- every service error in Twilio's shape -----------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.rate_limited(), 429, 20429),
        (errors.conference_full("CF1", 250), 400, 16020),
        (errors.conference_not_active("CF1"), 400, 16022),
        (errors.label_in_use("agent"), 400, 16026),
        (errors.participant_not_active("CA1"), 400, 21220),
        (errors.coach_target_absent("CA1"), 400, 16028),
        (errors.invalid_field("to_endpoint", "not a number", 21211), 400, 21211),
        (errors.request_id_reused(), 422, 422),
        (errors.etag_mismatch('"1"', '"2"'), 412, 412),
        (from_status("ABORTED", "stale", None), 409, 409),
        (from_status("PERMISSION_DENIED", "no", None), 403, 403),
        (from_status("UNAVAILABLE", "down", None), 503, 20503),
        (errors.internal("disk on fire"), 500, 20500),
    ],
)
async def test_service_errors_keep_their_twilio_code_and_status(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: InMemoryUpstream,
    error: errors.RollcallError,
    status: int,
    code: int,
) -> None:
    upstream.fail_with = error
    async with http.post(
        collection(twilio_env, "R"), data={"From": "+15005550006", "To": "+1"}
    ) as response:
        message = await twilio_error(response, status, code)
    if status >= 500:
        assert message in ("Internal Server Error", "Service Unavailable")
    else:
        assert message == error.message


async def test_etag_mismatch_is_412_even_without_http_status_metadata(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: InMemoryUpstream
) -> None:
    error = errors.etag_mismatch('"1"', '"2"')
    error.http_status = 409  # what a bare ABORTED would default to
    upstream.fail_with = error
    async with http.delete(instance(twilio_env, "CF" + "4" * 32, "x")) as response:
        await twilio_error(response, 412, 412)


async def test_faults_are_500_without_detail(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: InMemoryUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream.fail_with = RuntimeError("secret detail")
    async with http.get(instance(twilio_env, "CF" + "5" * 32, "x")) as response:
        message = await twilio_error(response, 500, 20500)
        text = await response.text()
    assert message == "Internal Server Error"
    assert "secret" not in text
    assert "Traceback" not in text
    assert "secret detail" in caplog.text


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.rate_limited(), 429, 20429),
        (errors.conference_full("CF1", 2), 400, 16020),
        (errors.participant_not_active("CA1"), 400, 21220),
        (RuntimeError("boom"), 500, 20500),
    ],
)
async def test_the_sdk_sees_injected_errors_as_twilio_rest_exception(
    stand_in_client: TwilioClientFactory,
    upstream: InMemoryUpstream,
    error: BaseException,
    status: int,
    code: int,
) -> None:
    upstream.fail_with = error
    participants = stand_in_client().conferences("Room").participants
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(participants.create, from_="+15005550006", to="+15558675310")
    assert (caught.value.status, caught.value.code) == (status, code)
