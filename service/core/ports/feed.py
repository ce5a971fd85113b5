"""The change feed port: every commit, announced once, to whoever follows it.

Rule 1: the core publishes each committed change's events after its COMMIT,
        never before, and nothing else announces commits.
Rule 2: a subscriber hears each commit once, in commit order: this process's
        own with their events (`committed`), another replica's by conference
        and revision only (`heard`); the event table stays the truth.
Rule 3: a lost notification from another replica delays a commit, never loses
        it: the feed re-reads the revisions of what its subscribers watch
        after reconnecting and on a slow poll, and says so through `heard`.
Rule 4: subscribers do not block the feed: `committed` and `heard` are plain
        calls that queue work and return.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from service.core.events import Event


class FeedSubscriber(Protocol):
    def committed(self, events: Sequence[Event]) -> None:
        """This process committed `events` (one change, in revision order)."""

    def heard(self, conference_sid: str, revision: int) -> None:
        """Some replica committed this conference up to `revision`."""

    def watching(self) -> Collection[str]:
        """Conferences whose revisions the feed should re-read when it may
        have missed a notification (empty: none)."""


class ChangeFeed(Protocol):
    def subscribe(self, subscriber: FeedSubscriber) -> None:
        """Add a subscriber; it hears every commit published after this call."""

    def publish(self, events: Sequence[Event]) -> None:
        """The core's announcement of one committed change (Rule 1)."""

    async def start(self) -> None:
        """Begin hearing other replicas (nothing to do in one process)."""

    async def stop(self) -> None:
        """Stop hearing other replicas; publish still reaches subscribers."""
