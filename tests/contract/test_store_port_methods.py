"""The store contract, continued: the port methods the first suite did not
exercise (reads inside a write transaction, Create request ids, lookups by
call SID and by name, restart recovery, the callback cursor). Same adapters:
memory, SQLite, PostgreSQL."""

from __future__ import annotations

import pytest

from service.core.ports.store import Store, WebhookCursor
from service.core.statuses import ConferenceStatus, ParticipantStatus
from tests.fakes.stores import AC, add, conference, participant


async def test_reads_inside_a_write_transaction(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    agent = await add(store, conf, participant(conf, label="agent"))
    gone = participant(conf, label="gone")
    gone.status = ParticipantStatus.FAILED
    gone = await add(store, conf, gone)
    async with store.write() as tx:
        assert await tx.count_active(conf.sid) == 1
        assert [p.call_sid for p in await tx.active_participants(conf.sid)] == [agent.call_sid]
        assert await tx.active_label_taken(conf.sid, "agent")
        assert not await tx.active_label_taken(conf.sid, "gone")
        found = await tx.active_participant(conf.sid, agent.call_sid)
        assert found is not None and found.call_sid == agent.call_sid
        assert await tx.active_participant(conf.sid, gone.call_sid) is None
        by_sid = await tx.participant_by_call_sid(gone.call_sid)
        assert by_sid is not None and by_sid.label == "gone"
        assert await tx.participant_by_call_sid("CA" + "0" * 32) is None
        locked = await tx.conference(AC, conf.sid)
        assert locked is not None and locked.revision == conf.revision
        assert await tx.conference("AC" + "b" * 32, conf.sid) is None


async def test_request_ids_are_recorded_per_account(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
        assert await tx.request(AC, "req-1") is None
        await tx.record_request(AC, "req-1", "CA" + "1" * 32, "fingerprint", 1.0)
    async with store.write() as tx:
        assert await tx.request(AC, "req-1") == ("CA" + "1" * 32, "fingerprint")
        assert await tx.request("AC" + "b" * 32, "req-1") is None


async def test_reads_by_name_and_by_sid(store: Store) -> None:
    conf = conference("Named Room")
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf, label="host"))
    got = await store.conference(AC, conf.sid)
    assert got is not None and got.friendly_name == "Named Room"
    assert await store.conference("AC" + "b" * 32, conf.sid) is None
    for conference_key, by_sid in ((conf.sid, True), ("Named Room", False)):
        for key in (p.call_sid, "host"):
            found = await store.participant_in(AC, conference_key, by_sid, key, include_ended=False)
            assert found is not None and found.call_sid == p.call_sid
    assert (
        await store.participant_in("AC" + "b" * 32, conf.sid, True, "host", include_ended=True)
        is None
    )
    # Ended: found only when asked for, and a friendly name no longer names it.
    async with store.write() as tx:
        p.status = ParticipantStatus.COMPLETE
        await tx.update_participant(p)
        conf.status = ConferenceStatus.COMPLETED
        await tx.update_conference(conf)
    assert await store.participant_in(AC, conf.sid, True, "host", include_ended=False) is None
    assert await store.participant_in(AC, conf.sid, True, "host", include_ended=True) is not None
    assert await store.participant_in(AC, "Named Room", False, "host", include_ended=True) is None


async def test_active_participants_everywhere_for_recovery(store: Store) -> None:
    first, second = conference("a"), conference("b")
    async with store.write() as tx:
        await tx.insert_conference(first)
        await tx.insert_conference(second)
    live = [await add(store, c, participant(c)) for c in (first, second)]
    ended = participant(first)
    ended.status = ParticipantStatus.COMPLETE
    await add(store, first, ended)
    found = {p.call_sid for p in await store.active_participants_everywhere()}
    assert found == {p.call_sid for p in live}


async def test_webhook_cursor_never_moves_back_and_backlog(store: Store) -> None:
    conf = conference()
    async with store.write() as tx:
        await tx.insert_conference(conf)
    p = await add(store, conf, participant(conf))
    assert await store.webhook_cursor(conf.sid) is None
    assert (AC, conf.sid) in await store.webhook_backlog()
    await store.save_webhook_cursor(
        WebhookCursor(conf.sid, AC, revision=conf.revision, step=0, sequence=3), {p.call_sid: 2}
    )
    assert await store.webhook_cursor(conf.sid) == WebhookCursor(conf.sid, AC, conf.revision, 0, 3)
    assert await store.call_sequences(conf.sid) == {p.call_sid: 2}
    assert (AC, conf.sid) not in await store.webhook_backlog()
    # Behind the stored one: nothing changes.
    await store.save_webhook_cursor(WebhookCursor(conf.sid, AC, revision=0, step=0), {})
    saved = await store.webhook_cursor(conf.sid)
    assert saved is not None and saved.revision == conf.revision
    await store.save_webhook_cursor(
        WebhookCursor(conf.sid, AC, revision=conf.revision, step=1, sequence=4), {}, finished=True
    )
    assert await store.call_sequences(conf.sid) == {}


@pytest.mark.parametrize("key", ["meta-a", "meta-b"])
async def test_meta_round_trip(store: Store, key: str) -> None:
    assert await store.get_meta(key) is None
    await store.set_meta(key, "value")
    assert await store.get_meta(key) == "value"
