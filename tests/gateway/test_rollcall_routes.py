"""Rollcall's own REST routes, in process and through a standalone gateway:
moving a participant and who hears whom, under /rollcall/v1/."""

from __future__ import annotations

import aiohttp

from tests.gateway.conftest import TwilioEnv, basic
from tests.gateway.http_helpers import create, twilio_error
from tests.gateway.recording_upstream import RecordingUpstream


def rollcall(env: TwilioEnv, conference: str) -> str:
    return f"/rollcall/v1/accounts/{env.account_sid}/conferences/{conference}"


async def test_move_and_hearing(
    http: aiohttp.ClientSession, twilio_env: TwilioEnv, upstream: RecordingUpstream
) -> None:
    env = twilio_env
    agent = await create(http, env, "desk", Label="agent")
    boss = await create(http, env, "office", To="+15558675311")
    path = rollcall(env, "desk") + "/participants/agent/move"
    form = {"Destination": "office", "Role": "whisper", "WhisperTargets": boss["call_sid"]}
    async with http.post(path, data=form) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert body["moved_from_conference_sid"] == agent["conference_sid"]
    assert body["moved_to_conference_sid"] == boss["conference_sid"] and body["move_id"]
    moved = body["participant"]
    assert (moved["conference_sid"], moved["coaching"], moved["call_sid_to_coach"]) == (
        boss["conference_sid"],
        True,
        boss["call_sid"],
    )
    sent = upstream.last("move")
    assert sent.destination == f"accounts/{env.account_sid}/conferences/office"  # type: ignore[attr-defined]

    async with http.get(rollcall(env, "office") + "/hearing") as response:
        assert response.status == 200
        hearing = await response.json()
    assert hearing["conference_sid"] == boss["conference_sid"] and hearing["revision"] > 0
    assert hearing["rows"] == []  # nobody has answered yet: nobody is in the audio

    async with http.post(path, data={}) as response:
        await twilio_error(response, 400, 400)  # Destination is required
    async with http.post(path, data={"Destination": "office"}) as response:
        await twilio_error(response, 404, 20404)  # the agent is not in "desk" any more


async def test_another_account_is_not_found(twilio_env: TwilioEnv) -> None:
    env = twilio_env
    headers = {"Authorization": basic(env.other_account_sid, env.other_auth_token)}
    async with (
        aiohttp.ClientSession(base_url=env.base_url, headers=headers) as other,
        other.get(rollcall(env, "desk") + "/hearing") as response,
    ):
        await twilio_error(response, 404, 20404)
