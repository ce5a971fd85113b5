"""The watch feed's recent-events cache (service.rpc.watch_feed.Feed)."""

from __future__ import annotations

from service.core.events import Event, EventType
from service.core.records import Conference
from service.core.statuses import ConferenceStatus
from service.rpc.watch_feed import Feed

AC = "AC" + "a" * 32


def _event(revision: int) -> Event:
    conf = Conference(
        sid="CF" + "1" * 32,
        account_sid=AC,
        friendly_name="room",
        status=ConferenceStatus.IN_PROGRESS,
        revision=revision,
        max_participants=250,
        date_created=0.0,
        date_updated=0.0,
    )
    return Event(conf.sid, AC, revision, 0.0, EventType.ANNOUNCEMENT_ENDED, conf)


def test_feed_serves_what_it_holds_contiguously_and_nothing_else() -> None:
    feed = Feed()
    assert feed.after(0) is None  # empty: read the store
    for revision in (5, 6, 7):
        feed.publish(_event(revision))
    assert feed.revision == 7
    assert feed.after(3) is None  # 4 is not held: read the store
    assert [c.revision for c in feed.after(4) or []] == [5, 6, 7]
    assert [c.revision for c in feed.after(6) or []] == [7]
    assert feed.after(7) == []
    feed.publish(_event(9))  # out of order: the cache restarts from 9
    assert feed.after(6) is None
    assert [c.revision for c in feed.after(8) or []] == [9]
    assert feed.revision == 9


async def test_feed_publish_wakes_every_waiter() -> None:
    import asyncio

    feed = Feed()
    loop = asyncio.get_running_loop()
    waiters = [loop.create_future() for _ in range(2)]
    feed.waiters.update(waiters)
    feed.publish(_event(1))
    assert [w.result() for w in waiters] == [True, True]
    assert feed.waiters == set()
