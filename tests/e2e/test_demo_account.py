"""The demo account exists only when asked for, and its token is shown once:
by the first start that gets to serve, whatever failed before it; every later
start says how to get a new one."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import App
from tests.conftest import basic, make_settings, serving
from tests.e2e.dbquery import rows as query
from tests.e2e.hostile import _MAIN, assert_clean_log, logged_server
from tests.e2e.process import ServerProcess

GIVEN_TOKEN = "given-token-" + "0" * 20  # 32 characters: short secrets are refused
_DEMO = re.compile(r"demo account (AC[0-9a-f]{32}) auth token ([0-9a-f]{32}) \(shown only now\)")
_NO_DEMO = {"ROLLCALL_ACCOUNTS": "", "ROLLCALL_API_KEYS": ""}
_RENEW = "for a new one, start once with --demo-account off, then again"


def _meta(database: Path) -> dict[str, str]:
    return dict(query(database, "SELECT key, value FROM meta"))


def _list(target: str, sid: str, token: str) -> grpc.StatusCode:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ParticipantServiceStub(channel)
        try:
            stub.ListParticipants(
                pb.ListParticipantsRequest(parent=f"accounts/{sid}/conferences/room"),
                metadata=(("authorization", basic(sid, token)),),
                timeout=10,
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.mark.slow
def test_without_accounts_the_demo_token_is_shown_once(tmp_path: Path) -> None:
    env = {"ROLLCALL_ACCOUNTS": "", "ROLLCALL_API_KEYS": ""}
    with logged_server(tmp_path, **env) as server:
        printed = server.stop()
        banner = "".join(server.banner)
    match = _DEMO.search(banner)
    assert match, banner
    sid, token = match.groups()
    assert_clean_log(printed)
    assert token not in printed  # the log never carries it
    with logged_server(tmp_path, **env) as server:
        # The same account works after a restart, but its token is not shown again.
        assert _list(server.target, sid, token) == grpc.StatusCode.NOT_FOUND
        assert _list(server.target, sid, "wrong") == grpc.StatusCode.UNAUTHENTICATED
        printed = server.stop()
        banner = "".join(server.banner)
    assert f"demo account {sid}" in banner
    assert token not in banner and token not in printed


@pytest.mark.slow
def test_with_accounts_there_is_no_demo_account(tmp_path: Path) -> None:
    # A demo account made by an earlier start without accounts...
    with logged_server(tmp_path, ROLLCALL_ACCOUNTS="", ROLLCALL_API_KEYS="") as server:
        server.stop()
        sid, token = _DEMO.search("".join(server.banner)).groups()  # type: ignore[union-attr]
    assert _meta(tmp_path / "rollcall.sqlite3")["demo_auth_token"] == token
    # ...is gone once accounts are configured: it cannot authenticate, nothing
    # about it is printed, and its token is no longer kept.
    with logged_server(tmp_path) as server:
        assert _list(server.target, sid, token) == grpc.StatusCode.UNAUTHENTICATED
        printed = server.stop()
        banner = "".join(server.banner)
    assert "demo" not in banner and token not in banner + printed
    assert _meta(tmp_path / "rollcall.sqlite3")["demo_auth_token"] == ""


async def test_demo_account_setting(tmp_path: Path) -> None:
    async with serving(make_settings(tmp_path, demo_account="on")) as h:
        assert h.app.demo is not None and h.app.demo.created
        demo = h.app.demo
        assert h.app.auth is not None
        assert h.app.auth.auth_token(demo.account_sid) == demo.auth_token
    async with serving(make_settings(tmp_path, demo_account="on")) as h:
        assert h.app.demo is not None and not h.app.demo.created
        assert h.app.demo.auth_token == demo.auth_token
    async with serving(make_settings(tmp_path, accounts="", api_keys="", demo_account="off")) as h:
        assert h.app.auth is not None
        assert h.app.demo is None and h.app.auth.account_sids == []
    # A demo SID and token given in the settings are used, and the token is not stored.
    given = "AC" + "d" * 32
    (tmp_path / "x").mkdir()
    async with serving(
        make_settings(tmp_path / "x", demo_account_sid=given, demo_auth_token=GIVEN_TOKEN)
    ) as h:
        assert h.app.demo is not None and not h.app.demo.created
        assert h.app.auth is not None
        assert h.app.auth.auth_token(given) == GIVEN_TOKEN
    assert GIVEN_TOKEN not in _meta(tmp_path / "x" / "rollcall.sqlite3").values()


async def test_a_bad_demo_account_setting_refuses_to_start(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, demo_account="maybe"))
    try:
        with pytest.raises(ValueError, match="demo_account"):
            await app.start()
    finally:
        await app.stop(grace=0)


def test_a_first_start_that_cannot_bind_leaves_the_token_to_the_next(tmp_path: Path) -> None:
    """A newcomer's first start fails on a busy port: the token it generated
    is shown by the next start that serves, and only by it; each later start
    says how to get a new one, and that way gives a new token, shown once."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        env = {
            **ServerProcess(tmp_path / "rollcall.sqlite3", **_NO_DEMO).env,
            "ROLLCALL_HTTP_LISTEN": f"127.0.0.1:{busy.getsockname()[1]}",
        }
        failed = subprocess.run(
            [sys.executable, "-c", _MAIN, "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "cannot start" in failed.stderr
    assert "demo account" not in failed.stdout
    token = _meta(tmp_path / "rollcall.sqlite3")["demo_auth_token"]
    assert token not in failed.stdout + failed.stderr  # generated, not shown

    with logged_server(tmp_path, **_NO_DEMO) as server:
        printed = server.stop()
        banner = "".join(server.banner)
    shown = _DEMO.search(banner)
    assert shown, banner
    sid, token_shown = shown.groups()
    assert token_shown == token
    assert token not in printed  # the log never carries it

    with logged_server(tmp_path, **_NO_DEMO) as server:
        assert _list(server.target, sid, token) == grpc.StatusCode.NOT_FOUND
        printed = server.stop()
        banner = "".join(server.banner)
    assert f"demo account {sid} (auth token as shown when it was generated; {_RENEW})" in banner
    assert token not in banner + printed

    # Following the hint: the old token is gone, a new one is shown once.
    with logged_server(tmp_path, ROLLCALL_DEMO_ACCOUNT="off", **_NO_DEMO) as server:
        server.stop()
    with logged_server(tmp_path, **_NO_DEMO) as server:
        assert _list(server.target, sid, token) == grpc.StatusCode.UNAUTHENTICATED
        server.stop()
        renewed = _DEMO.search("".join(server.banner))
    assert renewed, server.banner
    assert renewed.group(1) == sid and renewed.group(2) != token
