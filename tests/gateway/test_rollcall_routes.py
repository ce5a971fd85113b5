"""Rollcall's own REST routes, in process and through a standalone gateway:
moving a participant, who hears whom and a change of many participants at
once, under /rollcall/v1/."""

from __future__ import annotations

import aiohttp

from tests.conftest import Harness
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


async def test_update_many(
    http: aiohttp.ClientSession,
    twilio_env: TwilioEnv,
    upstream: RecordingUpstream,
    service: Harness,
) -> None:
    env = twilio_env
    host = await create(http, env, "panel", Label="host", To="+15558675320")
    guests = [
        await create(http, env, "panel", Label=f"guest{i}", To=f"+1555867533{i}") for i in range(3)
    ]
    await service.advance(5)  # everyone answers (the carrier places one call a second)
    path = rollcall(env, "panel") + "/participants/update-many"

    form = {"Participants": "host", "AllExcept": "true", "Muted": "true", "Hold": "true"}
    async with http.post(path, data=form) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    sent = upstream.last("bulk")
    assert sent.parent == f"accounts/{env.account_sid}/conferences/panel"  # type: ignore[attr-defined]
    outcomes = body["outcomes"]
    assert [o["key"] for o in outcomes] == [g["call_sid"] for g in guests]
    assert all(o["changed"] and o["error"] is None for o in outcomes)
    assert all(o["participant"]["muted"] and o["participant"]["hold"] for o in outcomes)

    # Repeated keys and space-separated words both name participants.
    form2 = [("Participants", "guest0 host"), ("Participants", "nobody"), ("Muted", "false")]
    async with http.post(path, data=form2) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert [(o["key"], o["changed"]) for o in body["outcomes"]] == [
        ("guest0", True),
        ("host", False),  # already unmuted: no change
        ("nobody", False),
    ]
    assert body["outcomes"][0]["participant"]["muted"] is False
    assert body["outcomes"][1]["participant"]["call_sid"] == host["call_sid"]
    assert body["outcomes"][2]["participant"] is None
    assert body["outcomes"][2]["error"] == {
        "code": 20404,
        "reason": "PARTICIPANT_NOT_FOUND",
        "message": body["outcomes"][2]["error"]["message"],
    }
    assert "nobody" in body["outcomes"][2]["error"]["message"]
    hearing = rollcall(env, "panel") + "/hearing"
    async with http.get(hearing) as response:
        revision = (await response.json())["revision"]

    async with http.post(path, data={"Participants": "host"}) as response:
        assert await twilio_error(response, 400, 400) == "Muted: set muted, hold or both"
    async with http.post(path, data={"Hold": "true"}) as response:
        assert await twilio_error(response, 400, 400) == (
            "Participants: name at least one (or set all_except)"
        )
    async with http.post(path, data={"Participants": "host", "Hold": "maybe"}) as response:
        assert "Hold" in await twilio_error(response, 400, 400)
    other = rollcall(env, "nowhere") + "/participants/update-many"
    async with http.post(other, data={"Participants": "host", "Muted": "true"}) as response:
        await twilio_error(response, 404, 20404)
    headers = {"Authorization": basic(env.other_account_sid, env.other_auth_token)}
    async with (
        aiohttp.ClientSession(base_url=env.base_url, headers=headers) as stranger,
        stranger.post(path, data={"Participants": "host", "Muted": "true"}) as response,
    ):
        await twilio_error(response, 404, 20404)  # another account's conference is not found
    async with http.get(hearing) as response:
        assert (await response.json())["revision"] == revision  # the refusals changed nothing


async def test_another_account_is_not_found(twilio_env: TwilioEnv) -> None:
    env = twilio_env
    headers = {"Authorization": basic(env.other_account_sid, env.other_auth_token)}
    async with (
        aiohttp.ClientSession(base_url=env.base_url, headers=headers) as other,
        other.get(rollcall(env, "desk") + "/hearing") as response,
    ):
        await twilio_error(response, 404, 20404)
