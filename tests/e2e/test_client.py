"""The Python clients and the CLI against a real server on an ephemeral port.

The async client runs in the server's event loop; the sync client and the CLI
run their own loops, so they are driven from a worker thread (asyncio.to_thread)
while the test's loop keeps serving.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from clients import AsyncRollcallClient, RollcallClient, RollcallClientError, cli
from rollcall.v1 import enums_pb2 as en
from rollcall.v1 import participant_pb2 as ppb
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, KEY_SECRET, KEY_SID, Harness


def client(h: Harness) -> AsyncRollcallClient:
    return AsyncRollcallClient(h.grpc_target, ACCOUNT_SID, AUTH_TOKEN)


async def test_create_with_twilio_words_then_fetch_by_label(harness: Harness) -> None:
    async with client(harness) as rollcall:
        created = await rollcall.create_participant(
            "standup",
            from_endpoint="+15005550006",
            to_endpoint="+15551230000",
            label="agent one",
            status_callback="https://example.com/status",
            status_callback_method="GET",
            status_callback_event="initiated ringing",
            beep="onEnter",
            conference_record="record-from-start",
            muted=True,
        )
        assert created.status == ppb.PARTICIPANT_STATUS_QUEUED
        assert created.muted
        fetched = await rollcall.fetch_participant(created.conference_sid, "agent one")
        assert fetched.call_sid == created.call_sid
        assert fetched.name == rollcall.participant_name(created.conference_sid, created.call_sid)


async def test_request_id_makes_create_safe_to_retry(harness: Harness) -> None:
    async with client(harness) as rollcall:
        first, again = [
            await rollcall.create_participant(
                "room", from_endpoint="+15005550006", to_endpoint="+15551230000", request_id="r-1"
            )
            for _ in range(2)
        ]
    assert first.call_sid == again.call_sid


async def test_list_pages_and_iterate_every_page(harness: Harness) -> None:
    async with client(harness) as rollcall:
        sids = []
        for n in range(5):
            p = await rollcall.create_participant(
                "big", from_endpoint="+15005550006", to_endpoint=f"+1555123000{n}", muted=n < 2
            )
            sids.append(p.call_sid)
        conference = p.conference_sid
        page = await rollcall.list_participants(conference, page_size=2)
        assert [p.call_sid for p in page.participants] == sids[:2]
        assert page.next_page_token
        second = await rollcall.list_participants(
            conference, page_size=2, page_token=page.next_page_token
        )
        assert [p.call_sid for p in second.participants] == sids[2:4]
        every = [p.call_sid async for p in rollcall.iter_participants(conference, page_size=2)]
        assert every == sids
        muted = [p.call_sid async for p in rollcall.iter_participants(conference, muted=True)]
        assert muted == sids[:2]


async def test_update_and_delete_honour_etags(harness: Harness) -> None:
    async with client(harness) as rollcall:
        created = await rollcall.create_participant(
            "room", from_endpoint="+15005550006", to_endpoint="+15551230000", label="a"
        )
        # The Create answers queued at its first revision; dialing and ringing
        # were committed with it, so its etag is already an old one.
        with pytest.raises(RollcallClientError) as old:
            await rollcall.update_participant(
                created.conference_sid, "a", etag=created.etag, muted=True
            )
        assert old.value.reason == "ETAG_MISMATCH"
        p = await rollcall.fetch_participant(created.conference_sid, "a")
        updated = await rollcall.update_participant(
            p.conference_sid, "a", etag=p.etag, muted=True, hold_method="GET"
        )
        assert updated.muted and updated.revision > p.revision
        with pytest.raises(RollcallClientError) as stale:
            await rollcall.update_participant(p.conference_sid, "a", etag=p.etag, muted=False)
        assert (stale.value.code, stale.value.reason) == ("ABORTED", "ETAG_MISMATCH")
        assert stale.value.http_status == 412
        deleted = await rollcall.delete_participant(p.conference_sid, "a", etag=updated.etag)
        assert deleted.call_sid == p.call_sid


async def test_errors_carry_reason_twilio_code_and_bad_fields(harness: Harness) -> None:
    async with client(harness) as rollcall:
        with pytest.raises(RollcallClientError) as missing:
            await rollcall.fetch_participant("CF" + "0" * 32, "CA" + "0" * 32)
        assert missing.value.code == "NOT_FOUND"
        assert missing.value.twilio_code == 20404
        with pytest.raises(RollcallClientError) as invalid:
            await rollcall.create_participant(
                "room", from_endpoint="+15005550006", to_endpoint="+15551230000", timeout=1
            )
        assert invalid.value.code == "INVALID_ARGUMENT"
        assert [v.field for v in invalid.value.field_violations] == ["timeout"]
        assert "timeout" in str(invalid.value)


async def test_wrong_credentials_are_unauthenticated(harness: Harness) -> None:
    async with AsyncRollcallClient(harness.grpc_target, ACCOUNT_SID, "wrong") as rollcall:
        with pytest.raises(RollcallClientError) as denied:
            await rollcall.list_participants("room")
    assert (denied.value.code, denied.value.twilio_code) == ("UNAUTHENTICATED", 20003)


async def test_api_key_needs_and_uses_the_account_sid(harness: Harness) -> None:
    with pytest.raises(ValueError, match="account_sid"):
        AsyncRollcallClient(harness.grpc_target, KEY_SID, KEY_SECRET)
    async with AsyncRollcallClient(
        harness.grpc_target, KEY_SID, KEY_SECRET, account_sid=ACCOUNT_SID
    ) as rollcall:
        p = await rollcall.create_participant(
            "room", from_endpoint="+15005550006", to_endpoint="+15551230000"
        )
    assert p.account_sid == ACCOUNT_SID


async def test_sync_client_delegates_to_the_async_client(harness: Harness) -> None:
    def scenario() -> list[str]:
        with RollcallClient(harness.grpc_target, ACCOUNT_SID, AUTH_TOKEN) as rollcall:
            p = rollcall.create_participant(
                "sync",
                from_endpoint="+15005550006",
                to_endpoint="+15551230000",
                status_callback_event=[en.CALL_EVENT_INITIATED, "completed"],
            )
            rollcall.create_participant(
                "sync", from_endpoint="+15005550006", to_endpoint="+15551230001"
            )
            rollcall.update_participant(p.conference_sid, p.call_sid, hold=True)
            assert rollcall.fetch_participant(p.conference_sid, p.call_sid).hold
            with pytest.raises(RollcallClientError):
                rollcall.fetch_participant(p.conference_sid, "nobody")
            pages = rollcall.iter_participants(p.conference_sid, page_size=1)
            sids = [q.call_sid for q in pages]
            assert rollcall.list_participants(p.conference_sid, hold=True).participants[0] == (
                rollcall.fetch_participant(p.conference_sid, p.call_sid)
            )
        with pytest.raises(RuntimeError, match="closed"):
            rollcall.list_participants(p.conference_sid)
        rollcall.close()
        return sids

    assert len(await asyncio.to_thread(scenario)) == 2


async def test_cli_participants_commands(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = ["--target", harness.grpc_target, "--account-sid", ACCOUNT_SID]
    connect += ["--auth-token", AUTH_TOKEN]

    async def rollcall(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, ["participants", *argv, *connect])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await rollcall(
        "create", "cli room", "--from", "+15005550006", "--to", "+15551230000",
        "--label", "agent", "--param", "Beep=onExit", "--status-callback-event", "ringing",
        "--json",
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    assert created["label"] == "agent"
    assert created["status"] == "PARTICIPANT_STATUS_QUEUED"
    conference = created["conference_sid"]

    code, out, _ = await rollcall("update", conference, "agent", "--muted")
    assert code == 0
    assert "muted:" in out and "true" in out.split("muted:")[1].splitlines()[0]

    code, out, _ = await rollcall("list", conference, "--all")
    assert code == 0
    header, row = out.splitlines()
    assert header.startswith("CALL SID") and row.startswith(created["call_sid"])

    code, out, err = await rollcall("fetch", conference, "nobody")
    assert (code, out) == (3, "")
    assert err.startswith(
        "error: participants fetch failed (PARTICIPANT_NOT_FOUND, twilio 20404): "
    )

    code, out, _ = await rollcall("delete", conference, "agent")
    assert code == 0 and created["call_sid"] in out
