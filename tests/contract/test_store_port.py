"""The rest of the store contract, method by method, on every adapter (the
`store` fixture of tests/contract/conftest.py: memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio

from service.core.ports.store import Store, WebhookCursor
from service.core.statuses import ConferenceStatus, ParticipantStatus
from tests.fakes.stores import AC, OTHER, add, conference, participant


async def test_conference_lookups_stay_within_the_account(store: Store) -> None:
    conf = conference("lobby")
    async with store.write() as tx:
        await tx.insert_conference(conf)
        assert await tx.conference(AC, conf.sid) is not None
        assert await tx.conference(OTHER, conf.sid) is None
    found = await store.conference(AC, conf.sid)
    assert found is not None and found.friendly_name == "lobby"
    assert await store.conference(OTHER, conf.sid) is None
    conf.status = ConferenceStatus.COMPLETED
    async with store.write() as tx:
        await tx.update_conference(conf)
        assert await tx.active_conference_named(AC, "lobby") is None
    assert await store.active_conference_named(AC, "lobby") is None
    again = conference("lobby")  # a completed name may be used again
    async with store.write() as tx:
        await tx.insert_conference(again)
    named = await store.active_conference_named(AC, "lobby")
    assert named is not None and named.sid == again.sid


async def test_participant_reads_in_a_transaction(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    a = await add(store, conf, participant(conf, "a"))
    b = await add(store, conf, participant(conf, "b"))
    b.status = ParticipantStatus.FAILED
    async with store.write() as tx:
        await tx.update_participant(b)
    async with store.write() as tx:
        assert await tx.count_active(conf.sid) == 1
        assert await tx.active_label_taken(conf.sid, "a")
        assert not await tx.active_label_taken(conf.sid, "b")
        assert [p.call_sid for p in await tx.active_participants(conf.sid)] == [a.call_sid]
        assert await tx.active_participant(conf.sid, a.call_sid) is not None
        assert await tx.active_participant(conf.sid, b.call_sid) is None
        by_sid = await tx.participant_by_call_sid(b.call_sid)
        assert by_sid is not None and by_sid.status is ParticipantStatus.FAILED
        assert await tx.participant_by_call_sid("CA" + "0" * 32) is None
        by_label = await tx.participant(conf.sid, "b")  # ended ones too
        assert by_label is not None and by_label.call_sid == b.call_sid
    assert [p.call_sid for p in await store.active_participants_everywhere()] == [a.call_sid]


async def test_participant_in_names_the_conference_by_sid_or_active_name(store: Store) -> None:
    conf = conference("named")
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf, "agent"))
    for by_sid, key in ((True, conf.sid), (False, "named")):
        for who in (p.call_sid, "agent"):
            found = await store.participant_in(AC, key, by_sid, who, include_ended=False)
            assert found is not None and found.call_sid == p.call_sid
    assert await store.participant_in(OTHER, conf.sid, True, p.call_sid, include_ended=True) is None
    p.status = ParticipantStatus.COMPLETE
    async with store.write() as tx:
        await tx.update_participant(p)
    assert await store.participant_in(AC, conf.sid, True, "agent", include_ended=False) is None
    ended = await store.participant_in(AC, conf.sid, True, "agent", include_ended=True)
    assert ended is not None and ended.status is ParticipantStatus.COMPLETE
    assert await store.participant(conf.sid, p.call_sid, include_ended=False) is None


async def test_participant_in_read_together_answers_each_as_alone(store: Store) -> None:
    # Many reads at once, of every shape, some with no answer (PostgreSQL
    # sends concurrent ones as one statement: service.store.postgres.batches).
    conf, other = conference("named"), conference("other")
    async with store.write() as tx:
        await tx.insert_conference(conf)
        await tx.insert_conference(other)
    live = [await add(store, conf, participant(conf, f"p{i}")) for i in range(4)]
    ended = await add(store, conf, participant(conf, "gone"))
    ended.status = ParticipantStatus.COMPLETE
    async with store.write() as tx:
        await tx.update_participant(ended)
    again = await add(store, conf, participant(conf, "gone"))  # the label, reused
    elsewhere = await add(store, other, participant(other, "p0"))
    asked = []
    for p in [*live, ended, again, elsewhere]:
        for conference_key, by_sid in ((p.conference_sid, True), ("named", False)):
            for key in (p.call_sid, p.label or ""):
                for include_ended in (False, True):
                    for account in (AC, OTHER):
                        asked.append((account, conference_key, by_sid, key, include_ended))
    alone = [
        await store.participant_in(a, c, by_sid, key, include_ended=ended_too)
        for a, c, by_sid, key, ended_too in asked
    ]
    together = await asyncio.gather(
        *(
            store.participant_in(a, c, by_sid, key, include_ended=ended_too)
            for a, c, by_sid, key, ended_too in asked
        )
    )
    assert [p and (p.call_sid, p.status) for p in together] == [
        p and (p.call_sid, p.status) for p in alone
    ]
    assert any(p is None for p in alone) and sum(p is not None for p in alone) > len(asked) // 4
    by_label = await store.participant_in(AC, conf.sid, True, "gone", include_ended=True)
    assert by_label is not None and by_label.call_sid == again.call_sid  # the live one first


async def test_a_read_among_many_sees_the_change_committed_before_it(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf, "agent"))
    readers = [
        asyncio.create_task(store.participant_in(AC, conf.sid, True, "agent", include_ended=False))
        for _ in range(20)
    ]
    p.muted = True
    async with store.write() as tx:
        await tx.update_participant(p)
    found = await store.participant_in(AC, conf.sid, True, "agent", include_ended=False)
    assert found is not None and found.muted
    for reader in readers:
        assert (await reader) is not None


async def test_request_ids_are_per_account(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf))
    async with store.write() as tx:
        assert await tx.request(AC, "r1") is None
        await tx.record_request(AC, "r1", p.call_sid, "fp", 1.0)
    async with store.write() as tx:
        assert await tx.request(AC, "r1") == (p.call_sid, "fp")
        assert await tx.request(OTHER, "r1") is None


async def test_events_oldest_revision_and_limit(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    assert await store.oldest_revision(conf.sid) is None
    for _ in range(5):
        await add(store, conf, participant(conf))
    assert await store.oldest_revision(conf.sid) == 1
    events = await store.events(conf.sid, 1, 2)
    assert [e.revision for e in events] == [2, 3]
    assert events[0].participant is not None and events[0].conference_sid == conf.sid
    assert await store.events(conf.sid, 5, 10) == []


async def test_webhook_cursor_never_moves_backwards(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    await add(store, conf, participant(conf))
    await add(store, conf, participant(conf))
    assert await store.webhook_cursor(conf.sid) is None
    assert await store.webhook_backlog() == [(AC, conf.sid)]
    ahead = WebhookCursor(conf.sid, AC, revision=1, step=2, sequence=4)
    await store.save_webhook_cursor(ahead, {"CA1": 3, "CA2": 2})
    assert await store.webhook_cursor(conf.sid) == ahead
    assert await store.call_sequences(conf.sid) == {"CA1": 3, "CA2": 2}
    await store.save_webhook_cursor(WebhookCursor(conf.sid, AC, 1, 1, 3), {})
    assert await store.webhook_cursor(conf.sid) == ahead  # behind: ignored
    done = WebhookCursor(conf.sid, AC, revision=2, step=0, sequence=5)
    await store.save_webhook_cursor(done, {}, finished=True)
    assert await store.webhook_cursor(conf.sid) == done
    assert await store.call_sequences(conf.sid) == {}
    assert await store.webhook_backlog() == []


async def test_compaction_never_passes_the_callback_cursor(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    for _ in range(6):
        await add(store, conf, participant(conf))
    await store.save_webhook_cursor(WebhookCursor(conf.sid, AC, revision=2), {})
    assert await store.compact(older_than=2.0, keep=1) == 2
    assert await store.oldest_revision(conf.sid) == 3
