"""Errors over HTTP: authentication, tenancy, and every service error in Twilio's shape."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from service.core import errors
from service.gateway.status import from_status
from tests import conftest as server_conftest
from tests.gateway.conftest import TwilioClientFactory, TwilioEnv, basic, server_env
from tests.gateway.http_helpers import collection, create, instance, twilio_error
from tests.gateway.recording_upstream import RecordingUpstream

# -- authentication and tenancy ---------------------------------------------


async def test_missing_credentials_are_401_with_www_authenticate(
    twilio_env: TwilioEnv, upstream: RecordingUpstream
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

PARTY = {"From": "+15005550006", "To": "+15558675310"}


async def _post(
    http: aiohttp.ClientSession, path: str, data: dict[str, str], status: int, code: int
) -> str:
    async with http.post(path, data=data) as response:
        return await twilio_error(response, status, code)


async def test_real_service_errors_keep_their_twilio_code_and_status(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv
) -> None:
    """Each refusal here is produced by the real service from real requests."""
    room = collection(twilio_env, "Errors")
    first = await create(http, twilio_env, "Errors", Label="agent", MaxParticipants="3")
    conference, call_sid = first["conference_sid"], first["call_sid"]
    message = await _post(http, room, {**PARTY, "Label": "agent"}, 400, 16026)
    assert message == errors.label_in_use("agent").message
    message = await _post(http, room, {**PARTY, "To": "not a number"}, 400, 21211)
    # Named by Twilio's parameter, not the proto field (to_endpoint).
    assert message == "To: not a valid phone number, client or SIP address"
    async with http.post(room, data={**PARTY, "StatusCallback": "not a url"}) as response:
        body = await response.json()
    assert response.status == 400
    assert body["message"].startswith("StatusCallback: "), body
    target = "CA" + "9" * 32
    message = await _post(http, room, {**PARTY, "CallSidToCoach": target}, 400, 16028)
    assert message == errors.coach_target_absent(target).message
    # The same Idempotency-Key with a different request.
    headers = {"Idempotency-Key": "reused"}
    async with http.post(room, data=PARTY, headers=headers) as response:
        assert response.status == 201
    async with http.post(room, data={**PARTY, "Muted": "true"}, headers=headers) as response:
        message = await twilio_error(response, 422, 422)
    assert message == errors.request_id_reused().message
    await create(http, twilio_env, "Errors")
    message = await _post(http, room, PARTY, 400, 16020)
    assert message == errors.conference_full(conference, 3).message
    path = instance(twilio_env, conference, call_sid)
    async with http.get(path) as response:
        etag = response.headers["ETag"]
    async with http.post(path, data={"Muted": "true"}, headers={"If-Match": '"0"'}) as response:
        message = await twilio_error(response, 412, 412)
    assert message == errors.etag_mismatch('"0"', etag).message
    async with http.delete(path) as response:
        assert response.status == 204
    message = await _post(http, path, {"Muted": "true"}, 400, 21220)
    assert message == errors.participant_not_active(call_sid).message
    conference_path = f"/2010-04-01/Accounts/{twilio_env.account_sid}/Conferences/{conference}.json"
    async with http.post(conference_path, data={"Status": "completed"}) as response:
        assert response.status == 200, await response.text()
    message = await _post(http, collection(twilio_env, conference), PARTY, 400, 16022)
    assert message == errors.conference_not_active(conference).message


async def test_a_real_rate_limit_is_429(tmp_path: Path) -> None:
    """The real service's own rate limiter refuses the request over its burst."""
    settings = server_conftest.make_settings(tmp_path, requests_per_second=0.001, request_burst=1)
    async with server_conftest.serving(settings) as h:
        assert h.app.http_port is not None
        env = server_env(h.app.http_port)
        auth = {"Authorization": basic(env.account_sid, env.auth_token)}
        async with aiohttp.ClientSession(base_url=env.base_url, headers=auth) as http:
            await create(http, env, "Limited")
            message = await _post(http, collection(env, "Limited"), PARTY, 429, 20429)
    assert message.startswith(errors.rate_limited().message)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (from_status("ABORTED", "stale", None), 409, 409),
        (from_status("PERMISSION_DENIED", "no", None), 403, 403),
        (from_status("UNAVAILABLE", "down", None), 503, 20503),
        (errors.internal("disk on fire"), 500, 20500),
    ],
)
async def test_service_faults_keep_their_twilio_code_and_status(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    error: errors.RollcallError,
    status: int,
    code: int,
) -> None:
    """Failures the real service cannot be made to produce on demand (a bare
    ABORTED or PERMISSION_DENIED, UNAVAILABLE, INTERNAL): the recording
    wrapper raises the real RollcallError type in the service's place."""
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
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    """The real service always says 412 for a stale etag; a peer that left the
    HTTP status out is played by the recording wrapper raising the real type."""
    error = errors.etag_mismatch('"1"', '"2"')
    error.http_status = 409  # what a bare ABORTED would default to
    upstream.fail_with = error
    async with http.delete(instance(twilio_env, "CF" + "4" * 32, "x")) as response:
        await twilio_error(response, 412, 412)


async def test_faults_are_500_without_detail(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken component inside the service (which the real one has not got)
    is played by the recording wrapper raising a bare RuntimeError."""
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
    gateway_client: TwilioClientFactory,
    upstream: RecordingUpstream,
    error: BaseException,
    status: int,
    code: int,
) -> None:
    """How the SDK reads each kind of refusal. The recording wrapper raises the
    real error type in the service's place; the real service producing the
    same refusals is test_real_service_errors_keep_their_twilio_code_and_status
    and test_a_real_rate_limit_is_429."""
    upstream.fail_with = error
    participants = gateway_client().conferences("Room").participants
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(participants.create, from_="+15005550006", to="+15558675310")
    assert (caught.value.status, caught.value.code) == (status, code)
