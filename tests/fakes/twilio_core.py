"""Rollcall's core on the Twilio adapter, against the fake carrier, with real ingest.

Real parts throughout: the in-memory store, Participants and Conferences (the use
cases), the Twilio adapter speaking HTTP to the fake carrier, and the
carrier's signed callbacks arriving over HTTP at Rollcall's ingest routes,
which hand them to Participants.on_report with the Rollcall accounts the
upstream account may touch (as the server wires it). Two tenants: ACCOUNT
dials through UPSTREAM, OTHER through OTHER_UPSTREAM.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from service.carriers.twilio.adapter import TwilioCarrier
from service.carriers.twilio.config import TwilioOptions, UpstreamAccount
from service.carriers.twilio.ingest import callback_urls
from service.clock import ManualClock
from service.core.commands import ConferenceRef, CreateCommand
from service.core.conferences import Conferences
from service.core.events import Event
from service.core.ports.carrier import Report
from service.store.memory.store import MemoryStore
from tests.fakes.carrier import FakeCarrier, running
from tests.fakes.core import TestCore as Participants
from tests.fakes.core import command
from tests.fakes.twilio_harness import ACCOUNT, UPSTREAM, UPSTREAM_TOKEN, Received, ingest_server

OTHER = "AC" + "7" * 32
OTHER_UPSTREAM = "AC" + "8" * 32
OTHER_TOKEN = "other-upstream-token-" + "6" * 11
TOKENS = {UPSTREAM: UPSTREAM_TOKEN, OTHER_UPSTREAM: OTHER_TOKEN}
TENANTS = {UPSTREAM: frozenset({ACCOUNT}), OTHER_UPSTREAM: frozenset({OTHER})}


class Ingested(Received):
    """Applies each callback to the core (as the server does), then records it."""

    participants: Participants | None = None

    async def __call__(self, report: Report, token: str | None) -> None:
        assert self.participants is not None
        accounts = TENANTS.get(report.account_sid, frozenset())
        await self.participants.on_report(report, token, accounts)
        await super().__call__(report, token)


@dataclasses.dataclass
class CoreRig:
    participants: Participants
    conferences: Conferences
    adapter: TwilioCarrier
    carrier: FakeCarrier
    received: Ingested
    public_url: str
    seen: list[Event]

    def create_command(
        self, account: str = ACCOUNT, room: str = "room", **kw: Any
    ) -> CreateCommand:
        return command(conference=ConferenceRef(account, room), **kw)


@contextlib.asynccontextmanager
async def core_on_twilio() -> AsyncIterator[CoreRig]:
    received = Ingested()
    async with (
        running(TOKENS) as carrier,
        ingest_server(None, TOKENS, received) as public_url,
    ):
        clock = ManualClock()
        store = MemoryStore()
        await store.open()
        adapter = TwilioCarrier(
            {
                ACCOUNT: UpstreamAccount(UPSTREAM, UPSTREAM_TOKEN),
                OTHER: UpstreamAccount(OTHER_UPSTREAM, OTHER_TOKEN),
            },
            callback_urls(public_url),
            clock,
            TwilioOptions(base_url=carrier.base_url, calls_per_second=0),
            sleep=clock.advance,
        )
        participants = Participants(store, adapter, clock)
        received.participants = participants
        seen: list[Event] = []
        participants.subscribe(seen.extend)
        try:
            yield CoreRig(
                participants,
                participants.conferences,
                adapter,
                carrier,
                received,
                public_url,
                seen,
            )
        finally:
            await adapter.close()
            await store.close()
