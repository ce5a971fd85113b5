"""One JSON line per request on both faces, searchable and free of secrets.

Each line has an RFC 3339 time, the method or route, the status, the duration,
the account SID, the resource, the request id (the caller's, else generated)
and the trace id (from the caller's `traceparent` while tracing is off); no
credential, whether in a header, the query or the body, reaches it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc.interceptors import JsonFormatter
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, KEY_SECRET, KEY_SID, Harness, basic
from tests.poll import eventually

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
COLLECTION = "/2010-04-01/Accounts/{account}/Conferences/{conference}/Participants{suffix}"


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


async def test_rest_requests_logged_once_each_with_who_what_and_ids(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rollcall.http")
    twilio = f"{harness.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{twilio}/room/Participants.json",
            data={"From": "+15005550006", "To": "+15551234567"},
            headers={
                "Authorization": basic(ACCOUNT_SID, AUTH_TOKEN),
                "Idempotency-Key": "order-7",
                "traceparent": TRACEPARENT,
            },
        ) as answer:
            assert answer.status == 201
        # An API key's secret as the password, and a watch token in the query.
        async with session.get(
            f"{twilio}/room/Participants.json",
            params={"access_token": KEY_SECRET},
            headers={"Authorization": basic(KEY_SID, KEY_SECRET)},
        ) as answer:
            assert answer.status == 200
        async with session.get(f"{harness.http_base}/readyz") as answer:
            assert answer.status == 200
    created, listed = lines(caplog, "rollcall.http")  # the probe is not logged
    assert RFC3339.match(created["time"])
    assert created["method"] == "POST" and created["route"] == COLLECTION
    assert created["status"] == 201 and created["ms"] > 0
    assert created["account_sid"] == ACCOUNT_SID
    assert (
        created["resource"]
        == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json"
    )
    assert created["request_id"] == "order-7"
    assert created["trace_id"] == TRACE
    assert listed["status"] == 200 and listed["trace_id"] is None
    assert re.fullmatch(r"[0-9a-f]{16}", listed["request_id"])  # generated
    assert listed["query"] == "access_token=[redacted]"
    text = json.dumps([created, listed])
    assert AUTH_TOKEN not in text and KEY_SECRET not in text


async def test_rpcs_logged_with_account_resource_request_and_trace_ids(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rollcall.rpc")
    parent = harness.parent("room")
    await harness.stub.CreateParticipant(
        pb.CreateParticipantRequest(
            parent=parent,
            from_endpoint="+15005550006",
            to_endpoint="+15551234567",
            request_id="create-1",
        ),
        metadata=(*harness.md(), ("traceparent", TRACEPARENT)),
    )
    missing = harness.name("room", "CA" + "0" * 32)
    with pytest.raises(grpc.aio.AioRpcError):
        await harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=missing),
            metadata=(*harness.md(KEY_SID, KEY_SECRET), ("x-request-id", "fetch-9")),
        )
    # A refused call's line is written as its handler unwinds, which may be
    # just after its status reached the client (in this process's loop).
    await eventually(
        lambda: len(lines(caplog, "rollcall.rpc")) == 2, "both calls' lines are written"
    )
    created, fetched = lines(caplog, "rollcall.rpc")
    assert RFC3339.match(created["time"])
    assert created["method"].endswith("/CreateParticipant") and created["code"] == "OK"
    assert created["account_sid"] == ACCOUNT_SID and created["resource"] == parent
    assert created["request_id"] == "create-1" and created["trace_id"] == TRACE
    assert fetched["code"] == "NOT_FOUND" and fetched["resource"] == missing
    assert fetched["request_id"] == "fetch-9" and fetched["trace_id"] is None
    text = json.dumps([created, fetched])
    assert AUTH_TOKEN not in text and KEY_SECRET not in text
