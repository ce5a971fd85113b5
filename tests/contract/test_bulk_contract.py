"""Commands over many participants on every store (memory, SQLite, PostgreSQL):
the assembled core on the simulated carrier, one of whose calls the carrier
refuses to change. One bulk change's revisions are consecutive, every
participant it changed has its event, and nothing is recorded for a
participant refused (by the carrier, by its role, or not found)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import ManualClock
from service.core import errors
from service.core.bulk import BulkCommand
from service.core.commands import ConferenceRef
from service.core.events import Event, EventType
from service.core.ports.carrier import Effect, Update
from service.core.statuses import Role
from tests.fakes.core import AC, TestCore, command, sink_to
from tests.fakes.stores import Backend


class Refusing(SimulatedCarrier):
    """The simulator, refusing every change to the calls in `refuse`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refuse: set[str] = set()

    async def apply(self, effect: Effect) -> None:
        if isinstance(effect, Update) and effect.target.call_sid in self.refuse:
            raise errors.participant_not_active(effect.target.call_sid)
        await super().apply(effect)


@pytest.fixture
async def core(backend: Backend) -> AsyncIterator[TestCore]:
    clock = ManualClock()
    holder: list[TestCore] = []
    carrier = Refusing(clock, sink_to(holder), ring_seconds=1.0, calls_per_second=0)
    store = backend.new("")
    await store.open()
    holder.append(TestCore(store, carrier, clock))
    try:
        yield holder[0]
    finally:
        await carrier.close()
        await store.close()


async def events_after(core: TestCore, conference_sid: str, revision: int) -> list[Event]:
    return await core.store.events(conference_sid, revision, 10_000)


async def test_one_change_consecutive_revisions_nothing_for_the_refused(core: TestCore) -> None:
    assert isinstance(core.carrier, Refusing) and isinstance(core.clock, ManualClock)
    host, _ = await core.create(command("room", label="host"))
    a, _ = await core.create(command("room", label="a"))
    b, _ = await core.create(command("room", label="b"))
    c, _ = await core.create(command("room", label="c"))
    boss, _ = await core.create(command("room", label="boss", role=Role.MONITOR))
    await core.clock.advance(2)  # everyone answers
    ref = ConferenceRef(AC, "room")
    sid = host.conference_sid
    core.carrier.refuse.add(b.call_sid)
    b_before = await core.fetch(ref, "b", include_ended=False)
    before = (await core.conference(ref)).revision

    outcomes = await core.participants.update_many(
        ref, BulkCommand(("host",), all_except=True, muted=True)
    )
    by_key = {o.key: o for o in outcomes}
    assert {k: (o.changed, o.error.reason if o.error else None) for k, o in by_key.items()} == {
        a.call_sid: (True, None),
        b.call_sid: (False, "PARTICIPANT_NOT_ACTIVE"),
        c.call_sid: (True, None),
        boss.call_sid: (False, None),  # a monitor is muted already
    }
    events = await events_after(core, sid, before)
    assert [e.revision for e in events] == [before + 1, before + 2]
    assert [(e.type, e.participant and e.participant.call_sid) for e in events] == [
        (EventType.PARTICIPANT_MUTED, a.call_sid),
        (EventType.PARTICIPANT_MUTED, c.call_sid),
    ]
    assert (await core.conference(ref)).revision == before + 2
    b_after = await core.fetch(ref, "b", include_ended=False)
    assert (b_after.muted, b_after.revision) == (False, b_before.revision)

    before += 2
    outcomes = await core.participants.update_many(
        ref, BulkCommand(("a", "boss", "nobody", "b"), muted=False)
    )
    assert [(o.key, o.changed, o.error.reason if o.error else None) for o in outcomes] == [
        ("a", True, None),
        ("boss", False, "ROLE_FORBIDS_UNMUTE"),
        ("nobody", False, "PARTICIPANT_NOT_FOUND"),
        ("b", False, None),  # already unmuted: the carrier is not asked
    ]
    events = await events_after(core, sid, before)
    assert [(e.revision, e.type, e.participant and e.participant.call_sid) for e in events] == [
        (before + 1, EventType.PARTICIPANT_UNMUTED, a.call_sid)
    ]
