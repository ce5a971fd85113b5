"""Small helpers for end-to-end tests: calling the stub, reading errors, and
waiting for callback delivery before a compaction."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.app import App
from service.core.errors import RollcallError
from service.gateway.status import from_rpc_error
from service.webhooks.dispatcher import WebhookDispatcher
from tests.conftest import Harness
from tests.e2e.dbquery import rows as query


async def expect_error(call: Any, code: grpc.StatusCode) -> RollcallError:
    """Await a stub call that must fail with `code`; return its decoded error."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, (caught.value.code(), caught.value.details())
    error = from_rpc_error(caught.value)
    assert error.reason, "every error carries an ErrorInfo reason"
    return error


async def create(
    h: Harness, conference: str = "room", *, to: str = "+15551230000", **fields: Any
) -> pb.CreateParticipantResponse:
    md = fields.pop("metadata", h.md())
    request = pb.CreateParticipantRequest(
        parent=h.parent(conference), from_endpoint="+15005550006", to_endpoint=to, **fields
    )
    return await h.stub.CreateParticipant(request, metadata=md)


async def fetch(h: Harness, conference: str, key: str, **fields: Any) -> Any:
    request = pb.FetchParticipantRequest(name=h.name(conference, key), **fields)
    response = await h.stub.FetchParticipant(request, metadata=h.md())
    return response.participant


async def list_all(h: Harness, conference: str, **fields: Any) -> list[Any]:
    out: list[Any] = []
    token = ""
    while True:
        page = await h.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=h.parent(conference), page_token=token, **fields),
            metadata=h.md(),
        )
        out.extend(page.participants)
        token = page.next_page_token
        if not token:
            return out


async def callbacks_caught_up(app: App) -> None:
    """Compaction never passes a conference's callback cursor: wait until this
    server's callback dispatcher has dealt with every event committed so far,
    or compaction may stop short of the history a test needs gone.

    On PostgreSQL only the replica holding the callback lease moves the cursors:
    first wait until this one holds it (it takes the lease at its next
    heartbeat if the previous holder's session was still closing when it
    started; changes made before then reach its dispatcher only by a rescan).
    Then wake every conference whose stored cursor is behind its revision and
    wait until all of them are drained; compaction saves the cursors first."""
    coordinator, webhooks = app.coordinator, app.webhooks
    assert webhooks is not None
    async with asyncio.timeout(20):
        if coordinator is not None:
            await coordinator.wait_leading()
        await webhooks.rescan()
        await webhooks.wait_idle()


async def until_status(
    stub: Any, parent: str, metadata: Any, call_sids: list[str], status: int, seconds: float = 20
) -> None:
    """Wait, on a WatchConference stream replaying the conference's log from
    its start, until every call in `call_sids` has reached `status` (each
    call's latest event counts). Fails after `seconds` instead of hanging."""
    stream = stub.WatchConference(
        pb.WatchConferenceRequest(parent=parent, resume_after_revision=0), metadata=metadata
    )
    latest: dict[str, int] = {}

    async def read() -> None:
        async for item in stream:
            if item.HasField("event") and item.event.HasField("participant"):
                latest[item.event.participant.call_sid] = item.event.participant.status
                if all(latest.get(sid) == status for sid in call_sids):
                    return
        raise AssertionError(f"the stream ended before {call_sids} reached {status}")

    try:
        await asyncio.wait_for(read(), seconds)
    except TimeoutError:
        raise AssertionError(f"never happened: {call_sids} reached {status}") from None
    finally:
        stream.cancel()


def _assert_log_matches_rows(database: Path) -> None:
    logged: dict[str, list[int]] = {}
    for sid, r in query(
        database, "SELECT conference_sid, revision FROM events ORDER BY conference_sid, revision"
    ):
        logged.setdefault(sid, []).append(r)
    for sid, revision in query(database, "SELECT sid, revision FROM conferences"):
        revisions = logged.get(sid, [])
        assert revisions == list(range(1, revision + 1)), f"gap or excess in {sid}'s log"
    last: dict[str, dict[str, object]] = {}
    for (data,) in query(database, "SELECT data FROM events ORDER BY conference_sid, revision"):
        event = json.loads(data)
        if event["participant"] is not None:
            last[event["participant"]["call_sid"]] = event["participant"]
    rows = query(database, "SELECT call_sid, revision, data FROM participants")
    assert len(rows) == len(last)
    for call_sid, revision, data in rows:
        state = json.loads(data)
        assert last[call_sid]["revision"] == revision
        for key in ("status", "muted", "hold", "call_status"):
            assert last[call_sid][key] == state[key], (call_sid, key)


def webhooks(h: Harness) -> WebhookDispatcher:
    assert h.app.webhooks is not None
    return h.app.webhooks
