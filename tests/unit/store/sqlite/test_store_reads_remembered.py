"""Reads the SQLite store remembers until the next commit (lookup_cache): a
repeated List page or conference lookup is answered without its queries, and
the first read after a commit sees what it wrote."""

from __future__ import annotations

from pathlib import Path

from service.core.ports.store import ParticipantFilter
from service.store.sqlite.store import SqliteStore
from tests.fakes.stores import AC, add, conference, participant


async def test_a_page_and_its_conference_are_remembered_until_the_next_commit(
    tmp_path: Path,
) -> None:
    store = SqliteStore(str(tmp_path / "remembered.sqlite3"))
    await store.open()
    try:
        conf = conference()
        async with store.write() as tx:
            await tx.insert_conference(conf)
        await add(store, conf, participant(conf))
        flt = ParticipantFilter()
        first = await store.list_participants(conf.sid, flt, page_size=10)
        again = await store.list_participants(conf.sid, flt, page_size=10)
        assert [p.call_sid for p in again.participants] == [p.call_sid for p in first.participants]
        # The remembered page is shared: nothing of it can be changed.
        assert again is first and isinstance(again.participants, tuple)
        found = await store.conference(AC, conf.sid)
        named = await store.active_conference_named(AC, conf.friendly_name)
        assert found is not None and named is not None
        assert await store.conference(AC, conf.sid) is found
        await add(store, conf, participant(conf))
        after = await store.list_participants(conf.sid, flt, page_size=10)
        assert len(after.participants) == 2 and after.revision == conf.revision
        fresh = await store.conference(AC, conf.sid)
        assert fresh is not found and fresh is not None and fresh.revision == conf.revision
    finally:
        await store.close()
