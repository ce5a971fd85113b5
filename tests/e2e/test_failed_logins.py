"""Failed logins against a real server process, on both faces.

A flood of wrong tokens comes from 127.0.0.2 (gRPC through a proxy that
connects from there, REST from a client bound there): after the per-source
burst every attempt is refused RESOURCE_EXHAUSTED TOO_MANY_FAILED_LOGINS with
a RetryInfo (REST: 429, 20429, Retry-After), even with the right token, and
the rate lets no more guesses through. The same account's owner, from
127.0.0.1 (a source that has not failed), gets OK every time, though the
flood has put the account over its own budget. Failures are counted by face
and reason, and the WARNING line names the source, never a token.
"""

from __future__ import annotations

import collections
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.process import ServerProcess
from tests.e2e.proxy import FreezableProxy
from tests.e2e.storm import metric, reason

BURST = 5
ACCOUNT_BURST = 3
WRONG = "wrong-token-" + "x" * 20
ATTACKER = "127.0.0.2"
FLOOD = 60


def retry_delay(exc: grpc.aio.AioRpcError) -> int | None:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return int(info.retry_delay.seconds)
    return None


def can_bind(address: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not can_bind(ATTACKER), reason="no second loopback address")
async def test_a_flood_of_wrong_tokens_is_throttled_while_the_owner_keeps_working(
    tmp_path: Path,
) -> None:
    server = ServerProcess(
        tmp_path / "logins.sqlite3",
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
        ROLLCALL_LOGIN_FAILURE_BURST=str(BURST),
        # One more guess every 10 minutes: none within the test.
        ROLLCALL_LOGIN_FAILURES_PER_MINUTE="0.1",
        ROLLCALL_ACCOUNT_LOGIN_FAILURE_BURST=str(ACCOUNT_BURST),
        ROLLCALL_ACCOUNT_LOGIN_FAILURES_PER_MINUTE="0.1",
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        owner_md = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
        wrong_md = (("authorization", basic(ACCOUNT_SID, WRONG)),)
        rest = f"http://127.0.0.1:{server.http_port}/2010-04-01/Accounts/{ACCOUNT_SID}"
        async with (
            grpc.aio.insecure_channel(server.target) as owner_channel,
            FreezableProxy(server.target, source=ATTACKER) as proxy,
            grpc.aio.insecure_channel(proxy.target) as flood_channel,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=(ATTACKER, 0))
            ) as flood_http,
            aiohttp.ClientSession() as owner_http,
        ):
            owner = pb_grpc.ParticipantServiceStub(owner_channel)
            flood = pb_grpc.ParticipantServiceStub(flood_channel)
            created = await owner.CreateParticipant(
                pb.CreateParticipantRequest(
                    parent=f"accounts/{ACCOUNT_SID}/conferences/standup",
                    from_endpoint="+15005550006",
                    to_endpoint="+15551230000",
                ),
                metadata=owner_md,
                timeout=30,
            )
            name = created.participant.name
            call_sid = created.participant.call_sid
            conference_sid = created.participant.conference_sid
            rest_fetch = f"{rest}/Conferences/{conference_sid}/Participants/{call_sid}.json"
            seen: collections.Counter[str] = collections.Counter()
            delays: set[int | None] = set()
            owner_answers: collections.Counter[str] = collections.Counter()

            async def owner_fetches() -> None:
                response = await owner.FetchParticipant(
                    pb.FetchParticipantRequest(name=name), metadata=owner_md, timeout=30
                )
                owner_answers["grpc OK" if response.participant.call_sid else "grpc empty"] += 1
                headers = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
                async with owner_http.get(rest_fetch, headers=headers) as answer:
                    owner_answers[f"rest {answer.status}"] += 1

            for n in range(FLOOD):
                try:
                    await flood.FetchParticipant(
                        pb.FetchParticipantRequest(name=name), metadata=wrong_md, timeout=30
                    )
                    seen["OK"] += 1
                except grpc.aio.AioRpcError as exc:
                    seen[f"grpc {exc.code().name}/{reason(exc)}"] += 1
                    if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                        delays.add(retry_delay(exc))
                async with flood_http.get(
                    rest_fetch, headers={"Authorization": basic(ACCOUNT_SID, WRONG)}
                ) as answer:
                    body = await answer.json()
                    seen[f"rest {answer.status}/{body['code']}"] += 1
                    if answer.status == 429:
                        delays.add(int(answer.headers["Retry-After"]))
                if n % 10 == 0:
                    await owner_fetches()
            await owner_fetches()

            # The flood: its burst answered 20003, then refused before any check.
            checked = seen["grpc UNAUTHENTICATED/CREDENTIALS_INVALID"] + seen["rest 401/20003"]
            assert checked <= BURST + 1, seen
            throttled = (
                seen["grpc RESOURCE_EXHAUSTED/TOO_MANY_FAILED_LOGINS"] + seen["rest 429/20429"]
            )
            assert throttled == 2 * FLOOD - checked, seen
            assert None not in delays and all(d is not None and d > 0 for d in delays), delays
            # The right token from the throttled source is refused too: nothing
            # from it is checked.
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await flood.FetchParticipant(
                    pb.FetchParticipantRequest(name=name), metadata=owner_md, timeout=30
                )
            assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            # The owner, from a source that has not failed: OK every time.
            rounds = FLOOD // 10 + 1
            assert owner_answers == {"grpc OK": rounds, "rest 200": rounds}, owner_answers

            port = server.metrics_port
            assert await metric(port, "rollcall_login_failures_total", 'reason="wrong_secret"') >= 1
            for face in ("grpc", "rest"):
                labels = f'face="{face}",reason="throttled"'
                assert await metric(port, "rollcall_login_failures_total", labels) >= 1
    finally:
        server.close()
    log = (tmp_path / "server.log").read_text()
    warnings = [line for line in log.splitlines() if "failed logins throttled" in line]
    assert warnings and all(ATTACKER in line for line in warnings), warnings
    assert len(warnings) <= 2, "rate-limited: one line, not one per refusal"
    assert WRONG not in log and AUTH_TOKEN not in log


def test_short_secrets_are_refused_at_start_in_one_line(tmp_path: Path) -> None:
    env = {
        **ServerProcess(tmp_path / "short.sqlite3").env,
        "ROLLCALL_ACCOUNTS": f"{ACCOUNT_SID}:short-token",
        "ROLLCALL_API_KEYS": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert ACCOUNT_SID in lines[0] and "32 characters" in lines[0]
    assert "short-token" not in done.stderr + done.stdout


async def test_short_secrets_may_be_allowed_for_tests_and_say_so(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "allowed.sqlite3",
        ROLLCALL_ACCOUNTS=f"{ACCOUNT_SID}:short-token",
        ROLLCALL_API_KEYS="",
        ROLLCALL_ALLOW_SHORT_SECRETS="true",
    )
    server.log = tmp_path / "server.log"
    try:
        server.start()
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = pb_grpc.ParticipantServiceStub(channel)
            md = (("authorization", basic(ACCOUNT_SID, "short-token")),)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListParticipants(
                    pb.ListParticipantsRequest(parent=f"accounts/{ACCOUNT_SID}/conferences/x"),
                    metadata=md,
                    timeout=30,
                )
            # Authenticated: the conference is what is missing.
            assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        server.close()
    log = (tmp_path / "server.log").read_text()
    assert "short secrets allowed" in log and ACCOUNT_SID in log
