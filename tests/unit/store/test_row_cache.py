"""Decoded rows by stored text (service.store.row_cache), alone and as the SQLite
store's reads use it.

Each entry is named by the content it stands for, so a changed participant is
never answered from an older entry; unchanged rows are decoded once; the cache
stays within its bound. (The other read caches: rpc/test_proto_cache.py,
store/sqlite/test_lookup_cache.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.core.ports.store import ParticipantFilter
from service.core.records import Conference, Participant
from service.core.statuses import ConferenceStatus
from service.store.row_cache import RowCache
from service.store.sqlite.store import SqliteStore
from tests.fakes.connected import ACCOUNT, CONFERENCE, participant


def test_a_row_is_decoded_once_and_a_changed_row_again() -> None:
    decoded: list[Any] = []

    def decode(row: Any) -> Participant:
        decoded.append(row)
        return participant(row[0], muted=row[1] == "muted")

    cache = RowCache(decode)
    first = cache.participant((1, "plain"))
    assert cache.participant((1, "plain")) is first
    changed = cache.participant((1, "muted"))
    assert changed.muted and not first.muted
    assert decoded == [(1, "plain"), (1, "muted")]


def test_the_row_cache_keeps_to_its_limit_dropping_the_oldest() -> None:
    cache = RowCache(lambda row: participant(row[0]), limit=3)
    oldest = cache.participant((1, "x"))
    for n in range(2, 6):
        cache.participant((n, "x"))
    assert len(cache) == 3
    assert cache.participant((1, "x")) is not oldest  # decoded again


async def test_store_reads_share_unchanged_rows_and_see_every_change(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "cache.sqlite3"))
    await store.open()
    try:
        conf = Conference(
            sid=CONFERENCE, account_sid=ACCOUNT, friendly_name="room",
            status=ConferenceStatus.IN_PROGRESS, revision=1, max_participants=250,
            date_created=0.0, date_updated=0.0,
        )  # fmt: skip
        p = participant(1)
        async with store.write() as tx:
            await tx.insert_conference(conf)
            await tx.insert_participant(p)
        everyone = ParticipantFilter(include_ended=True)
        first = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        again = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        assert again[0] is first[0]  # decoded once
        fetched = await store.participant_in(
            ACCOUNT, CONFERENCE, True, p.call_sid, include_ended=True
        )
        assert fetched is first[0]

        async with store.write() as tx:
            p.muted, p.revision = True, 2
            await tx.update_participant(p)
        changed = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        assert changed[0].muted and changed[0].revision == 2
        assert not first[0].muted  # what an earlier read returned is left alone
        fetched = await store.participant_in(
            ACCOUNT, CONFERENCE, True, p.call_sid, include_ended=True
        )
        assert fetched is not None and fetched.muted
    finally:
        await store.close()
