"""A whole Rollcall with `--carrier twilio` in front of the fake carrier.

The server is real (gRPC, REST gateway with the carrier's ingest routes,
real store); the carrier is tests.fakes.carrier, written from Twilio's spec,
recording every request it receives and able to hang a request until
released. What this file checks is what only the whole path shows: every
Create parameter reaches the carrier under its Twilio name, and a slow
carrier never holds up changes that do not wait for it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rollcall.v1 import enums_pb2 as E
from rollcall.v1 import participant_service_pb2 as pb
from tests.e2e.on_fake_carrier import rollcall_on_carrier
from tests.fakes.carrier import FakeCarrier


def form_of(carrier: FakeCarrier, index: int) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in carrier.placed()[index].form:
        form.setdefault(name, []).append(value)
    return form


async def test_every_create_parameter_reaches_the_carrier_by_its_twilio_name(
    tmp_path: Path,
) -> None:
    async with rollcall_on_carrier(tmp_path) as (h, carrier):
        request = pb.CreateParticipantRequest(
            parent=h.parent("wired"),
            from_endpoint="+15005550006",
            to_endpoint="+15551230001",
            record=True,
            beep=E.BEEP_ON_ENTER,
            early_media=False,
            conference_record=E.CONFERENCE_RECORD_RECORD_FROM_START,
            machine_detection=E.MACHINE_DETECTION_DETECT_MESSAGE_END,
            machine_detection_timeout=15,
            caller_id="+15005550006",
            recording_status_callback_event=[
                E.RECORDING_EVENT_IN_PROGRESS,
                E.RECORDING_EVENT_COMPLETED,
            ],
            region=E.REGION_IE1,
            status_callback="https://customer.example/calls",
        )
        await h.stub.CreateParticipant(request, metadata=h.md())
        form = form_of(carrier, 0)
        assert form["Record"] == ["true"]
        assert form["Beep"] == ["onEnter"]
        assert form["EarlyMedia"] == ["false"]
        assert form["ConferenceRecord"] == ["record-from-start"]
        assert form["MachineDetection"] == ["DetectMessageEnd"]
        assert form["MachineDetectionTimeout"] == ["15"]
        assert form["CallerId"] == ["+15005550006"]
        assert form["RecordingStatusCallbackEvent"] == ["in-progress", "completed"]
        assert form["Region"] == ["ie1"]
        # Rollcall delivers the customer's callbacks itself: the carrier's go to
        # Rollcall's ingest routes, once each.
        assert len(form["StatusCallback"]) == 1
        assert form["StatusCallback"][0].endswith("/carrier/twilio/call-status")
        assert all(len(values) == 1 for name, values in form.items() if not name.endswith("Event"))


async def test_a_slow_carrier_holds_up_only_the_change_that_waits_for_it(
    tmp_path: Path,
) -> None:
    async with rollcall_on_carrier(tmp_path) as (h, carrier):
        made = await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=h.parent("slow"), from_endpoint="+15005550006", to_endpoint="+15551230001"
            ),
            metadata=h.md(),
        )
        carrier.fail_next("stall", path=f"/Participants/{made.participant.call_sid}.json")
        update = asyncio.ensure_future(
            h.stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=made.participant.name, muted=True),
                metadata=h.md(),
            )
        )
        await carrier.requested(lambda r: r.path.endswith(f"{made.participant.call_sid}.json"))
        # The mute hangs at the carrier; writes that need no carrier go on:
        # a Create in another conference is placed and recorded meanwhile.
        other = await h.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=h.parent("elsewhere"),
                from_endpoint="+15005550006",
                to_endpoint="+15551230002",
            ),
            metadata=h.md(),
        )
        assert other.participant.call_sid
        assert not update.done()
        carrier.unstall()
        muted = await update
        assert muted.participant.muted
