"""The change feed across PostgreSQL replicas (store.postgres.feed.PgFeed),
without a database: this process's commits go out at once, and a revision it
published itself, heard back through the database, is not passed on."""

from __future__ import annotations

from collections.abc import Sequence

from service.core.events import Event, EventType
from service.store.postgres.feed import _REMEMBERED, PgFeed
from service.store.postgres.schema import PgOptions
from service.store.postgres.store import PostgresStore
from tests.fakes.stores import AC, conference

CF = "CF" + "1" * 32
OTHER = "CF" + "2" * 32


class Recorder:
    def __init__(self) -> None:
        self.commits: list[int] = []
        self.announced: list[tuple[str, int]] = []

    def committed(self, events: Sequence[Event]) -> None:
        self.commits.extend(e.revision for e in events)

    def heard(self, conference_sid: str, revision: int) -> None:
        self.announced.append((conference_sid, revision))

    def watching(self) -> list[str]:
        return []


def event(conference_sid: str, revision: int) -> Event:
    conf = conference()
    conf.sid, conf.revision = conference_sid, revision
    return Event(conference_sid, AC, revision, 1.0, EventType.PARTICIPANT_JOINED, conf)


def subscribed() -> tuple[PgFeed, Recorder]:
    # Never started: nothing here reaches the database.
    store = PostgresStore(PgOptions("postgresql://u@db.invalid/rollcall"))
    feed, recorder = PgFeed(store, poll_seconds=60.0), Recorder()
    feed.subscribe(recorder)
    return feed, recorder


def test_its_own_commits_go_out_at_once_and_are_not_heard_again() -> None:
    feed, recorder = subscribed()
    feed.publish([event(CF, 2), event(CF, 3)])
    assert recorder.commits == [2, 3]
    feed.heard(CF, 3)  # its own NOTIFY, back through the database
    feed.heard(CF, 2)  # or an older revision, re-read on the slow poll
    assert recorder.announced == []


def test_newer_revisions_and_other_conferences_are_heard() -> None:
    feed, recorder = subscribed()
    feed.publish([event(CF, 3)])
    feed.heard(CF, 4)  # another replica committed after it
    feed.heard(OTHER, 1)
    assert recorder.announced == [(CF, 4), (OTHER, 1)]


def test_it_remembers_a_bounded_number_of_conferences() -> None:
    feed, recorder = subscribed()
    feed.publish([event(CF, 3)])
    for n in range(_REMEMBERED):
        feed.publish([event(f"CF{n:032x}", 1)])
    # Forgotten: one redundant look, never a lost event.
    feed.heard(CF, 3)
    assert recorder.announced == [(CF, 3)]
    feed.heard(f"CF{_REMEMBERED - 1:032x}", 1)
    assert recorder.announced == [(CF, 3)]
