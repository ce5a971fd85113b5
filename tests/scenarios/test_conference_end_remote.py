"""Ending or announcing to a conference with a remote carrier never holds the
write transaction while the carrier acts, and a change the carrier's own
reports made meanwhile is taken as it is. Real SQLite, the simulated
carrier marked remote (in_process=False) whose EndConference / announce
first lets the carrier's report of it land (as a fast callback would)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.commands import ConferenceRef
from service.core.conferences import ConferenceUpdate
from service.core.events import Event, EventType
from service.core.ports.carrier import (
    AnnounceConference,
    ConferenceEvent,
    ConferenceReport,
    ConferenceTarget,
    Effect,
    EndConference,
)
from service.core.statuses import EndReason, LeaveReason
from tests.fakes.core import AC, command, simulated_core
from tests.fakes.core import TestCore as Participants

BOUND_SECONDS = 10.0


class RemoteCarrier(SimulatedCarrier):
    """The simulator as a remote carrier whose reports of an effect arrive at once."""

    in_process = False
    reports_announcements = True
    participants: Participants | None = None
    applied: list[Effect]

    async def apply(self, effect: Effect) -> None:
        self.applied.append(effect)
        assert self.participants is not None
        match effect:
            case EndConference(conference=target):
                report = ConferenceReport(
                    ConferenceEvent.CONFERENCE_END, target.conference_sid, 90, 50.0,
                    end_reason="conference-ended-via-api",
                    rollcall_conference=target.conference_sid,
                )  # fmt: skip
            case AnnounceConference(conference=target, url=url):
                report = ConferenceReport(
                    ConferenceEvent.ANNOUNCEMENT_END, target.conference_sid, 91, 50.0,
                    announce_url=url, rollcall_conference=target.conference_sid,
                )  # fmt: skip
            case _:
                await super().apply(effect)
                return
        # A write of its own: it would wait forever if the caller held the write
        # transaction, so it is bounded.
        async with asyncio.timeout(BOUND_SECONDS):
            await self.participants.on_report(report)
        await super().apply(effect)


@pytest.fixture
async def remote() -> AsyncIterator[tuple[Participants, RemoteCarrier, list[Event]]]:
    async with simulated_core(RemoteCarrier) as rig:
        rig.carrier.applied = []
        rig.carrier.participants = rig.participants
        yield rig.participants, rig.carrier, rig.seen


async def test_the_carriers_report_of_the_end_may_land_first(
    remote: tuple[Participants, RemoteCarrier, list[Event]],
) -> None:
    participants, carrier, seen = remote
    a, _ = await participants.create(command())
    b, _ = await participants.create(command(to_endpoint="+15551230002"))
    clock = participants.clock
    assert isinstance(clock, ManualClock)
    await clock.advance(2)
    seen.clear()
    conferences = participants.conferences
    ref = ConferenceRef(AC, a.conference_sid)
    ended = await conferences.update(ref, ConferenceUpdate(end=True))
    assert carrier.applied == [EndConference(ConferenceTarget(AC, a.conference_sid))]
    assert not ended.active and ended.end_reason is EndReason.CONFERENCE_ENDED_VIA_API
    # Ended once, by the carrier's report; the second decision found nothing to do.
    assert [e.type for e in seen] == [
        EventType.PARTICIPANT_LEFT,
        EventType.PARTICIPANT_LEFT,
        EventType.CONFERENCE_ENDED,
    ]
    for p in (a, b):
        left = await participants.fetch(ref, p.call_sid, include_ended=True)
        assert left.leave_reason is LeaveReason.CONFERENCE_ENDED_VIA_API


async def test_a_conference_announcement_ends_once_from_the_carriers_report(
    remote: tuple[Participants, RemoteCarrier, list[Event]],
) -> None:
    participants, carrier, seen = remote
    a, _ = await participants.create(command())
    clock = participants.clock
    assert isinstance(clock, ManualClock)
    await clock.advance(2)
    seen.clear()
    conferences = participants.conferences
    ref = ConferenceRef(AC, a.conference_sid)
    url = "https://example.com/all.xml"
    await conferences.update(ref, ConferenceUpdate(announce_url=url))
    assert [type(e) for e in carrier.applied] == [AnnounceConference]
    assert [(e.type, e.participant) for e in seen] == [(EventType.ANNOUNCEMENT_ENDED, None)]
    assert (await conferences.fetch(ref)).announce_url == url
