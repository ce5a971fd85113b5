"""End to end: a conference's alert timers on the manual clock. Each alert is
one CONFERENCE_ALERT event and one status callback, once per crossing,
through a restart (on PostgreSQL: a second replica takes over), and a
no-agent alert configured to end the conference ends it.

Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.app import App
from service.clock import ManualClock
from tests.conftest import Harness, make_settings
from tests.e2e.helpers import create, fetch
from tests.fakes.receiver import Receiver

T0 = 1_700_000_000.0
ALERT = pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ALERT


@contextlib.asynccontextmanager
async def server(tmp_path: Path, start: float, **settings: Any) -> AsyncIterator[Harness]:
    """A server on the test's database, its manual clock starting at `start`."""
    clock = ManualClock(start)
    app = App(make_settings(tmp_path, http_listen="", **settings), clock=clock)
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    try:
        yield Harness(app, clock, channel, pb_grpc.ParticipantServiceStub(channel))
    finally:
        await channel.close()
        await app.stop(grace=0)


async def update(h: Harness, conference: str, key: str, **fields: Any) -> None:
    request = pb.UpdateParticipantRequest(name=h.name(conference, key), **fields)
    await h.stub.UpdateParticipant(request, metadata=h.md())


async def events(h: Harness, conference: str) -> list[pb.ConferenceEvent]:
    """Every event of an ended conference (the watch replays them and closes)."""
    request = pb.WatchConferenceRequest(parent=h.parent(conference), resume_after_revision=0)
    items = [item async for item in h.stub.WatchConference(request, metadata=h.md())]
    return [item.event for item in items if item.HasField("event")]


def seconds(timestamp: str) -> float:
    return email.utils.parsedate_to_datetime(timestamp).timestamp()


async def test_alerts_fire_once_per_crossing_through_a_restart_and_end_the_conference(
    tmp_path: Path, receiver: Receiver
) -> None:
    rules = pb.ConferenceAlerts(
        hold_seconds=60, duration_seconds=3600, no_agent_seconds=20, end_conference=True
    )
    hook = receiver.url("/conference")
    async with server(tmp_path, T0) as h:
        agent = (
            await create(
                h, label="agent", attributes={"role": "agent"}, alerts=rules,
                conference_status_callback=hook,
            )
        ).participant  # fmt: skip
        conference = agent.conference_sid
        await create(h, conference, label="customer", attributes={"role": "customer"})
        await h.advance(0)  # dialing and ringing
        await h.advance(2)  # both answered: an agent is in before 20 s pass
        await h.advance(3)
        await update(h, conference, "customer", hold=True)  # held from T0 + 5
        await h.advance(60)  # the hold alert at T0 + 65
        await h.advance(4)
    # Restarted (on PostgreSQL: another replica) while the customer is on hold:
    # the alert that fired stays fired.
    async with server(tmp_path, T0 + 70) as h:
        await h.advance(30)
        await update(h, conference, "customer", hold=False)  # T0 + 100
        await h.advance(5)
        await update(h, conference, "customer", hold=True)  # a new hold: T0 + 105
        await h.advance(60)  # its alert at T0 + 165
        await h.advance(5)
        await h.stub.DeleteParticipant(
            pb.DeleteParticipantRequest(name=h.name(conference, "agent")), metadata=h.md()
        )  # no agent from T0 + 170
        await h.advance(20)  # the no-agent alert at T0 + 190 ends the conference
        customer = await fetch(h, conference, "customer", include_ended=True)
        assert customer.status == ppb.PARTICIPANT_STATUS_COMPLETE
        alerts = [e for e in await events(h, conference) if e.type == ALERT]
        assert [
            (e.alert.kind, e.alert.since.seconds, e.time.seconds, e.alert.ends_conference)
            for e in alerts
        ] == [
            (pb.ALERT_KIND_HOLD, T0 + 5, T0 + 65, False),
            (pb.ALERT_KIND_HOLD, T0 + 105, T0 + 165, False),
            (pb.ALERT_KIND_NO_AGENT, T0 + 170, T0 + 190, True),
        ]
        assert [e.participant.label for e in alerts[:2]] == ["customer", "customer"]
        assert alerts[0].participant.hold_since.seconds == T0 + 5
        after = await events(h, conference)
        assert after[-1].type == pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED
        assert after[-1].revision > alerts[-1].revision
        # One callback per alert, Twilio-signed, with the alert's fields.
        hits = await receiver.wait_delivered(5, "/conference")  # start, 3 alerts, end
        sent = [
            hit.params for hit in hits if hit.params["StatusCallbackEvent"] == "conference-alert"
        ]
        assert [
            (p["AlertKind"], seconds(p["AlertSince"]), seconds(p["Timestamp"]),
             p.get("ParticipantLabel"))
            for p in sent
        ] == [
            ("hold", T0 + 5, T0 + 65, "customer"),
            ("hold", T0 + 105, T0 + 165, "customer"),
            ("no-agent", T0 + 170, T0 + 190, None),
        ]  # fmt: skip
        assert all(hit.signature_valid() for hit in hits)
        assert sent[2]["AlertThresholdSeconds"] == "20" and sent[2]["AlertEndsConference"] == "true"
