"""Per-account rate limits over gRPC and through the Twilio SDK (429/20429)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, OTHER_SID, OTHER_TOKEN, make_settings, serving
from tests.e2e.helpers import create, expect_error


async def test_limit_refuses_then_refills_on_the_clock(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, requests_per_second=1.0, request_burst=2)
    async with serving(settings) as h:
        await create(h, "room")
        await create(h, "room")
        error = await expect_error(create(h, "room"), grpc.StatusCode.RESOURCE_EXHAUSTED)
        assert (error.reason, error.twilio_code) == ("RATE_LIMITED", 20429)
        assert error.metadata["retry_after_seconds"] == "1"
        # Another account has its own bucket.
        await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=h.parent("elsewhere", OTHER_SID),
                from_endpoint="+15005550006",
                to_endpoint="+15551234567",
            ),
            metadata=h.md(OTHER_SID, OTHER_TOKEN),
        )
        await h.advance(1)
        await create(h, "room")

        client = Client(ACCOUNT_SID, AUTH_TOKEN)
        client.api.base_url = h.http_base
        with pytest.raises(TwilioRestException) as caught:
            await asyncio.to_thread(
                client.conferences("room").participants.create,
                from_="+15005550006",
                to="+15551234567",
            )
        assert (caught.value.status, caught.value.code) == (429, 20429)
