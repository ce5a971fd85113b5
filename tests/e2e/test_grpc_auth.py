"""End to end over gRPC: authentication and tenancy."""

from __future__ import annotations

import grpc

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import KEY_SECRET, KEY_SID, OTHER_SID, OTHER_TOKEN, Harness, basic
from tests.e2e.helpers import create, expect_error


async def test_missing_and_bad_credentials(harness: Harness) -> None:
    p = (await create(harness, "room")).participant
    request = pb.FetchParticipantRequest(name=harness.name(p.conference_sid, p.call_sid))
    for metadata in (
        (),
        (("authorization", "Bearer x"),),
        (("authorization", "Basic !!!"),),
        (("authorization", basic(harness.account_sid, "wrong")),),
        (("authorization", basic("AC" + "9" * 32, "whatever")),),
        (("authorization", basic(KEY_SID, "wrong")),),
    ):
        error = await expect_error(
            harness.stub.FetchParticipant(request, metadata=metadata),
            grpc.StatusCode.UNAUTHENTICATED,
        )
        assert error.twilio_code == 20003
        assert harness.auth_token not in error.message


async def test_api_key_acts_for_its_account(harness: Harness) -> None:
    p = (await create(harness, "room", metadata=harness.md(KEY_SID, KEY_SECRET))).participant
    assert p.account_sid == harness.account_sid


async def test_other_account_cannot_see_or_touch(harness: Harness) -> None:
    p = (await create(harness, "room", label="mine")).participant
    other = harness.md(OTHER_SID, OTHER_TOKEN)
    missing_name = harness.name(p.conference_sid, "CA" + "0" * 32)
    existing_name = harness.name(p.conference_sid, p.call_sid)
    errors = []
    for name in (existing_name, missing_name):
        errors.append(
            await expect_error(
                harness.stub.FetchParticipant(
                    pb.FetchParticipantRequest(name=name), metadata=other
                ),
                grpc.StatusCode.NOT_FOUND,
            )
        )
    # Same reason and code whether or not the resource exists.
    assert {(e.reason, e.twilio_code) for e in errors} == {(errors[0].reason, 20404)}
    # Even with its own account in the name, the other account does not find ours.
    for call in (
        harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=harness.name(p.conference_sid, p.call_sid, OTHER_SID)),
            metadata=other,
        ),
        harness.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=existing_name), metadata=other
        ),
        harness.stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=existing_name, muted=True), metadata=other
        ),
        harness.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=harness.parent(p.conference_sid)), metadata=other
        ),
        harness.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=harness.parent(p.conference_sid),
                from_endpoint="+15005550006",
                to_endpoint="+15551112222",
            ),
            metadata=other,
        ),
    ):
        await expect_error(call, grpc.StatusCode.NOT_FOUND)
    # Nothing changed.
    fetched = await harness.stub.FetchParticipant(
        pb.FetchParticipantRequest(name=existing_name), metadata=harness.md()
    )
    assert not fetched.participant.muted
