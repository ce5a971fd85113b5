"""Store.floor on every adapter: one consistent read of an account's conferences,
with arrival marks and a horizon no later conference can fall below."""

from __future__ import annotations

from service.core.ports.store import Store
from service.core.statuses import ConferenceStatus, ParticipantStatus
from tests.fakes.stores import AC, OTHER, add, conference, participant


async def _create(store: Store, name: str, account: str = AC) -> tuple[str, int]:
    conf = conference(name, account_sid=account)
    async with store.write() as tx:
        await tx.insert_conference(conf)
    return conf.sid, conf.revision


async def test_live_conferences_with_their_active_participants(store: Store) -> None:
    live = conference("live")
    ended = conference("ended", status=ConferenceStatus.COMPLETED)
    foreign = conference("foreign", account_sid=OTHER)
    async with store.write() as tx:
        for conf in (live, ended, foreign):
            await tx.insert_conference(conf)
    a = await add(store, live, participant(live, "a"))
    gone = participant(live, "b")
    gone.status = ParticipantStatus.COMPLETE
    await add(store, live, gone)
    floor = await store.floor(AC, live=True, participants=True, limit=10)
    assert [f.conference.sid for f in floor.conferences] == [live.sid]
    (only,) = floor.conferences
    assert only.conference.revision == live.revision == 2
    assert only.participants is not None
    assert [p.call_sid for p in only.participants] == [a.call_sid]
    assert not floor.truncated
    # Without participants asked for, none are read.
    bare = await store.floor(AC, live=True, limit=10)
    assert bare.conferences[0].participants is None


async def test_horizon_and_marks_find_every_later_conference_once(store: Store) -> None:
    await _create(store, "before")
    first = await store.floor(AC, live=False, limit=10)
    assert first.conferences == []  # nothing at or past its own horizon
    made = [(await _create(store, f"after-{i}"))[0] for i in range(3)]
    await _create(store, "elsewhere", OTHER)
    later = await store.floor(AC, live=False, since=first.horizon, limit=10)
    assert [f.conference.sid for f in later.conferences] == made
    assert all(f.mark >= first.horizon for f in later.conferences)
    assert later.horizon >= first.horizon
    # Past the newest horizon, nothing is new; ords are the list cursor order.
    again = await store.floor(AC, live=False, since=later.horizon, limit=10)
    assert [f.conference.sid for f in again.conferences] == [
        f.conference.sid for f in later.conferences if f.mark >= later.horizon
    ]
    ords = [f.ord for f in later.conferences]
    assert ords == sorted(ords) and len(set(ords)) == 3


async def test_by_ord_ended_included_and_limit(store: Store) -> None:
    sids = [(await _create(store, f"c{i}"))[0] for i in range(4)]
    everything = await store.floor(AC, live=True, limit=10)
    by_sid = {f.conference.sid: f for f in everything.conferences}
    ended = await store.conference(AC, sids[0])
    assert ended is not None
    ended.status = ConferenceStatus.COMPLETED
    ended.revision += 1
    async with store.write() as tx:
        await tx.update_conference(ended)
    picked = await store.floor(
        AC, live=False, ords=[by_sid[sids[0]].ord, by_sid[sids[2]].ord], limit=10
    )
    found = {f.conference.sid: f.conference for f in picked.conferences}
    assert set(found) == {sids[0], sids[2]}
    assert found[sids[0]].status is ConferenceStatus.COMPLETED
    # Another account's ords select nothing of it.
    assert (
        await store.floor(OTHER, live=True, ords=[by_sid[sids[1]].ord], limit=10)
    ).conferences == []
    cut = await store.floor(AC, live=True, limit=2)
    assert cut.truncated and len(cut.conferences) == 2
