"""End to end: callbacks given up on are kept as dead letters, listed and redelivered.

A real server (manual clock) sends status callbacks to a real aiohttp
receiver that is down: its port refuses connections. The clock is advanced by
exactly each backoff once the dispatcher has made its attempt (the attempt
counter moves), so the test measures the outage the default retry budget
covers. The CLI runs for real (in a thread, over TCP to the server); the
metric is read from the server's /metrics endpoint.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from clients import cli
from rollcall.v1 import callback_service_pb2 as cpb
from rollcall.v1 import callback_service_pb2_grpc as cpb_grpc
from rollcall.v1 import enums_pb2 as E
from service.config import Settings
from service.metrics import REGISTRY
from service.webhooks.attempts import Policy
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, OTHER_SID, OTHER_TOKEN, Harness, started
from tests.e2e.helpers import create, expect_error, webhooks
from tests.fakes.receiver import Receiver
from tests.poll import eventually

HOUR = 3600.0


def attempts() -> float:
    value = REGISTRY.get_sample_value(
        "rollcall_callback_attempts_total", {"kind": "call", "result": "network_error"}
    )
    return value or 0.0


def dead_lettered() -> float:
    value = REGISTRY.get_sample_value("rollcall_callbacks_dead_lettered_total", {"kind": "call"})
    return value or 0.0


async def drive_to_last_attempt(h: Harness, policy: Policy, seen: float) -> tuple[float, float]:
    """Advance the clock by each backoff as soon as the attempt before it was
    made, up to the last attempt; return the attempt count and the time waited."""
    waited = 0.0
    given_up = dead_lettered()
    for attempt in range(1, policy.max_attempts + 1):
        await eventually(lambda n=seen: attempts() > n, f"attempt {attempt}")  # type: ignore[misc]
        seen += 1
        if attempt == policy.max_attempts:
            return seen, waited
        assert dead_lettered() == given_up, "given up before the last attempt"
        await webhooks(h).wait_retrying()
        waited += policy.backoff(attempt)
        await h.advance(policy.backoff(attempt))
    raise AssertionError("unreachable")


async def run_cli(h: Harness, *args: str, account: str = ACCOUNT_SID) -> int:
    token = AUTH_TOKEN if account == ACCOUNT_SID else OTHER_TOKEN
    argv = [
        "callbacks",
        "dead-letters",
        *args,
        "--target",
        h.grpc_target,
        "--account-sid",
        account,
        "--auth-token",
        token,
    ]
    return await asyncio.to_thread(cli.main, argv)


async def cli_json(
    h: Harness, capsys: pytest.CaptureFixture[str], *args: str, account: str = ACCOUNT_SID
) -> Any:
    capsys.readouterr()
    code = await run_cli(h, *args, "--json", account=account)
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.slow
async def test_a_receiver_down_for_an_hour_gets_its_callbacks_as_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = Receiver()
    await receiver.start()
    port = receiver.port
    url = receiver.url("/call")
    await receiver.stop()  # down: connections are refused
    policy = Policy()
    assert Settings().callback_max_attempts == policy.max_attempts
    first_dead = dead_lettered()
    async with started(tmp_path) as h:
        # Before the Create: its dialing is committed with it, so the first
        # attempt may come before the Create's answer does.
        seen = attempts()
        participant = (
            await create(
                h,
                status_callback=url,
                status_callback_event=[E.CALL_EVENT_INITIATED, E.CALL_EVENT_RINGING],
            )
        ).participant
        await h.advance(0)
        # The first callback (initiated) is kept trying for over an hour.
        seen, waited = await drive_to_last_attempt(h, policy, seen)
        assert waited >= HOUR
        await eventually(lambda: dead_lettered() == first_dead + 1, "the first dead letter")
        # The second one (ringing) gets its own budget, behind it.
        seen, _ = await drive_to_last_attempt(h, policy, seen)
        await eventually(lambda: dead_lettered() == first_dead + 2, "the second dead letter")
        await webhooks(h).wait_idle()

        # The metric, as Prometheus scrapes it.
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{h.app.metrics_port}/metrics") as response,
        ):
            text = await response.text()
        assert 'rollcall_callbacks_dead_lettered_total{kind="call"}' in text

        # The CLI lists them, oldest first; the other account sees none of them.
        listed = (await cli_json(h, capsys, "list"))["dead_letters"]
        assert [x["callback_event"] for x in listed] == ["initiated", "ringing"]
        assert all(x["call_sid"] == participant.call_sid for x in listed)
        assert all(x["attempts"] == policy.max_attempts for x in listed)
        assert all(x["url"] == url for x in listed)
        assert [x["sequence_number"] for x in listed] == ["0", "1"]
        other = await cli_json(h, capsys, "list", account=OTHER_SID)
        assert other == {"dead_letters": []}
        stub = cpb_grpc.CallbackServiceStub(h.channel)
        error = await expect_error(
            stub.ListDeadLetters(
                cpb.ListDeadLettersRequest(parent=f"accounts/{ACCOUNT_SID}"),
                metadata=h.md(OTHER_SID, OTHER_TOKEN),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert error.reason == "ACCOUNT_NOT_FOUND"
        error = await expect_error(
            stub.RedeliverDeadLetters(
                cpb.RedeliverDeadLettersRequest(parent=f"accounts/{ACCOUNT_SID}"),
                metadata=h.md(OTHER_SID, OTHER_TOKEN),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert (await cli_json(h, capsys, "list"))["dead_letters"] == listed

        # The receiver is back but fails the first one again: the second is held
        # back so that it never overtakes the first.
        await receiver.start(port)
        try:
            receiver.script = [500]
            reply = await cli_json(h, capsys, "redeliver")
            assert reply == {"delivered": 0, "remaining": 2}
            assert [x.params["CallStatus"] for x in receiver.hits] == ["initiated"]

            reply = await cli_json(h, capsys, "redeliver")
            assert reply == {"delivered": 2, "remaining": 0}
            hits = receiver.delivered()
            assert [x.params["CallStatus"] for x in hits] == ["initiated", "ringing"]
            assert [x.params["SequenceNumber"] for x in hits] == ["0", "1"]
            assert all(x.signature_valid() for x in hits)
            assert (
                hits[0].headers["I-Twilio-Idempotency-Token"]
                == (receiver.hits[0].headers["I-Twilio-Idempotency-Token"])
            )
            assert (await cli_json(h, capsys, "list"))["dead_letters"] == []
        finally:
            await receiver.stop()


async def test_dead_letters_go_when_event_retention_removes_their_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = Receiver()
    await receiver.start()
    url = receiver.url("/call")
    await receiver.stop()
    before = dead_lettered()
    async with started(
        tmp_path,
        callback_max_attempts=1,
        event_retention_seconds=10.0,
        event_retention_count=0,
        compaction_interval_seconds=HOUR,
    ) as h:
        await create(h, status_callback=url, status_callback_event=[E.CALL_EVENT_INITIATED])
        await h.advance(0)
        await eventually(lambda: dead_lettered() > before, "a dead letter")
        await webhooks(h).wait_idle()
        assert len((await cli_json(h, capsys, "list"))["dead_letters"]) == 1

        await h.app.compact()  # events are younger than the retention: kept
        assert len((await cli_json(h, capsys, "list"))["dead_letters"]) == 1

        await h.advance(20)
        await h.app.compact()
        assert (await cli_json(h, capsys, "list"))["dead_letters"] == []
