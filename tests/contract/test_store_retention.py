"""The store contract for retention, on every adapter (the `store` and `backend`
fixtures of tests/contract/conftest.py): each expire_* call removes at most
`limit` rows of what is past its time, nothing else, and 0 once none is left;
compaction deletes in batches."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from service.core.events import Event, EventType
from service.core.ports.store import ParticipantFilter, Store, WebhookCursor
from service.core.records import Conference, Participant
from service.core.statuses import CallStatus, ConferenceStatus, ParticipantStatus
from tests.fakes.stores import AC, Backend, add, conference, letter, participant
from tests.poll import eventually


async def new_conference(store: Store, name: str) -> Conference:
    conf = conference(name)
    async with store.write() as tx:
        await tx.insert_conference(conf)
    return conf


async def end(store: Store, p: Participant, at: float) -> None:
    p.status, p.call_status = ParticipantStatus.COMPLETE, CallStatus.COMPLETED
    p.ended_at = p.date_updated = at
    async with store.write() as tx:
        await tx.update_participant(p)


async def end_conference(store: Store, conf: Conference, at: float) -> None:
    conf.status, conf.date_updated = ConferenceStatus.COMPLETED, at
    async with store.write() as tx:
        await tx.update_conference(conf)


async def drain(
    expire: Callable[[float, int], Awaitable[int]], before: float, limit: int
) -> list[int]:
    """Every batch's count, until one removes nothing."""
    counts = []
    while (done := await expire(before, limit)) > 0:
        assert done <= limit
        counts.append(done)
        assert len(counts) < 100, "never finished"
    return counts


async def listed(store: Store, conf: Conference) -> list[str]:
    page = await store.list_participants(
        conf.sid, ParticipantFilter(include_ended=True), page_size=50
    )
    return [p.call_sid for p in page.participants]


async def test_ended_participants_go_after_their_window_in_batches(store: Store) -> None:
    conf = await new_conference(store, "live")
    made = [await add(store, conf, participant(conf)) for _ in range(5)]
    for p in made[:3]:
        await end(store, p, 10.0)
    await end(store, made[3], 50.0)  # ended, but within the window
    assert await drain(store.expire_participants, 20.0, 2) == [2, 1]
    assert await listed(store, conf) == [made[3].call_sid, made[4].call_sid]
    # The conference's log is compaction's business, not this.
    assert len(await store.events(conf.sid, 0, 50)) == 5


async def test_ended_conferences_go_with_all_they_hold_once_callbacks_are_done(
    backend: Backend, store: Store
) -> None:
    gone = await new_conference(store, "gone")
    members = [await add(store, gone, participant(gone)) for _ in range(3)]
    for p in members:
        await end(store, p, 10.0)
    await end_conference(store, gone, 10.0)
    await store.save_webhook_cursor(WebhookCursor(gone.sid, AC, gone.revision), {"CA1": 2})
    letters = backend.dead_letters(store)
    await letters.add(letter(AC, gone.sid, 1))

    behind = await new_conference(store, "behind")  # callbacks not all sent
    await add(store, behind, participant(behind))
    await end_conference(store, behind, 10.0)
    await store.save_webhook_cursor(WebhookCursor(behind.sid, AC, behind.revision - 1), {})
    recent = await new_conference(store, "recent")
    await add(store, recent, participant(recent))
    await end_conference(store, recent, 50.0)
    await store.save_webhook_cursor(WebhookCursor(recent.sid, AC, recent.revision), {})
    live = await new_conference(store, "live")
    await add(store, live, participant(live))

    # Events (3), then participants (3), then the conference row: 2 at a time.
    assert await drain(store.expire_conferences, 20.0, 2) == [2, 1, 2, 1, 1]
    assert await store.conference(AC, gone.sid) is None
    assert await store.events(gone.sid, 0, 50) == []
    assert await store.participant(gone.sid, members[0].call_sid, include_ended=True) is None
    assert await store.webhook_cursor(gone.sid) is None
    assert await store.call_sequences(gone.sid) == {}
    assert await letters.list(AC) == []
    for kept in (behind, recent, live):
        assert await store.conference(AC, kept.sid) is not None
        assert len(await listed(store, kept)) == 1
        assert len(await store.events(kept.sid, 0, 50)) == 1


async def test_request_ids_lapse_after_their_window(store: Store) -> None:
    async with store.write() as tx:
        for i, at in enumerate((1.0, 2.0, 5.0)):
            await tx.record_request(AC, f"r{i}", "CA" + str(i) * 32, "fp", at)
    assert await drain(store.expire_requests, 3.0, 1) == [1, 1]
    async with store.write() as tx:
        assert await tx.request(AC, "r0") is None
        assert await tx.request(AC, "r2") == ("CA" + "2" * 32, "fp")
        # Forgotten, it may be recorded again (a new Create).
        await tx.forget_request(AC, "r2")
        await tx.record_request(AC, "r2", "CA" + "9" * 32, "fp2", 6.0)
    async with store.write() as tx:
        assert await tx.request(AC, "r2") == ("CA" + "9" * 32, "fp2")


async def test_carrier_rows_of_ended_calls_and_old_placements_go(store: Store) -> None:
    conf = await new_conference(store, "carrier")
    ended, live, late = [await add(store, conf, participant(conf)) for _ in range(3)]
    await end(store, ended, 10.0)
    await end(store, late, 10.0)
    gone = "CA" + "7" * 32  # its participant is no longer stored
    async with store.write() as tx:
        await tx.save_carrier_call(ended.call_sid, "CFX", 4, 5.0)
        await tx.save_carrier_call(live.call_sid, "CFY", 2, 5.0)
        await tx.save_carrier_call(gone, "CFZ", 1, 5.0)
        await tx.save_carrier_call(late.call_sid, "CFW", 9, 50.0)  # a late report
        for scope in ("CFX", f"CFX/{ended.call_sid}", "CFY", f"CFY/{live.call_sid}", "CFZ"):
            await tx.save_carrier_event_sequence(scope, 3)
        await tx.record_placement("old", AC, conf.sid, 5.0)
        await tx.record_placement("new", AC, conf.sid, 50.0)
    assert sum(await drain(store.expire_carrier_calls, 20.0, 10)) == 3
    async with store.write() as tx:
        assert await tx.carrier_call(ended.call_sid) is None
        assert await tx.carrier_call(gone) is None
        assert await tx.carrier_call(live.call_sid) == ("CFY", 2)
        assert await tx.carrier_call(late.call_sid) == ("CFW", 9)
        for scope in ("CFX", f"CFX/{ended.call_sid}", "CFZ"):
            assert await tx.carrier_event_sequence(scope) is None, scope
        for scope in ("CFY", f"CFY/{live.call_sid}"):
            assert await tx.carrier_event_sequence(scope) == 3, scope
        assert [p.key for p in await tx.placements_before(100.0)] == ["new"]


async def test_carrier_callback_tokens_go_after_their_window(store: Store) -> None:
    async with store.write() as tx:
        await tx.record_carrier_callback("old", 1.0)
        await tx.record_carrier_callback("older", 0.5)
        await tx.record_carrier_callback("new", 5.0)
    assert await drain(store.expire_carrier_callbacks, 3.0, 1) == [1, 1]
    async with store.write() as tx:
        assert not await tx.carrier_callback_seen("old")
        assert await tx.carrier_callback_seen("new")


async def test_dead_letters_go_after_their_window(backend: Backend, store: Store) -> None:
    letters = backend.dead_letters(store)
    for at in (1.0, 2.0, 9.0):
        await letters.add(dataclasses.replace(letter(AC, "CF" + "0" * 32, 1), given_up_at=at))
    assert await drain(letters.expire, 5.0, 1) == [1, 1]
    assert [d.given_up_at for d in await letters.list(AC)] == [9.0]


async def test_compaction_deletes_a_prefix_in_batches(store: Store) -> None:
    conf = await new_conference(store, "log")
    for _ in range(7):
        await add(store, conf, participant(conf))
    assert await store.compact(older_than=2.0, keep=2, batch=2) == 5
    assert [e.revision for e in await store.events(conf.sid, 0, 10)] == [6, 7]


async def test_a_change_waits_for_one_compaction_batch_not_the_pass(
    single_writer_backend: Backend,
) -> None:
    async with single_writer_backend.open() as store:
        log, other = await new_conference(store, "long"), await new_conference(store, "other")
        async with store.write() as tx:
            events = []
            for revision in range(1, 201):
                log.revision = revision
                events.append(
                    Event(log.sid, AC, revision, 1.0, EventType.PARTICIPANT_MODIFIED, log)
                )
            await tx.append_events(events)
            await tx.update_conference(log)

        async def oldest() -> int:
            return await store.oldest_revision(log.sid) or 0

        compaction = asyncio.create_task(store.compact(older_than=2.0, keep=0, batch=1))
        await eventually(lambda: _past(oldest(), 1), "compaction under way")
        await add(store, other, participant(other))  # a change while it runs
        # It committed before most of the log was gone: it waited for one
        # batch, not for the pass.
        assert await oldest() < 100
        assert await compaction == 200


async def _past(value: Awaitable[int], floor: int) -> bool:
    return await value > floor
