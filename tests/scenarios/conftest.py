"""Fixtures the core-level scenarios share.

Rule 1: `core` is the assembled core on the in-memory store and the simulated
        carrier (tests/fakes/core.py): (participants, clock, event types seen).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core.events import EventType
from tests.fakes.core import TestCore, simulated_core


@pytest.fixture
async def core() -> AsyncIterator[tuple[TestCore, ManualClock, list[EventType]]]:
    async with simulated_core(SimulatedCarrier) as rig:
        seen: list[EventType] = []
        rig.participants.subscribe(lambda events: seen.extend(e.type for e in events))
        yield rig.participants, rig.clock, seen
