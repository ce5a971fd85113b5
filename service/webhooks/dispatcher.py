"""Delivers status callbacks from the event log, one ordered lane per conference.

Rule 1: the event log is the truth; each conference has a durable cursor, so
        a callback is never lost across a restart (start() resumes every
        conference behind its revision) and is sent again only if the process
        stopped mid-attempt (with the same I-Twilio-Idempotency-Token).
Rule 2: per conference, callbacks go out strictly in event order; the lane
        moves on only once a callback is delivered, refused or given up
        (service.webhooks.attempts).
Rule 3: the change feed only wakes a conference's task, so RPCs never wait for
        HTTP, and a slow receiver delays only its own conference.
Rule 4: events without callbacks cost no write of their own: their cursor
        moves in memory and is saved with the next delivery, at the
        conference's end, every _BATCH events, or at stop().
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from collections.abc import Callable, Sequence

import aiohttp

from service import tracing
from service.auth import Authenticator
from service.clock import Clock
from service.core.events import Event, EventType
from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.store import Store, WebhookCursor
from service.webhooks import metrics
from service.webhooks.attempts import CallbackAttempts, Policy
from service.webhooks.destinations import PolicyResolver
from service.webhooks.lanes import Lane
from service.webhooks.params import Kind, callbacks_for, needs_ending_label

__all__ = ["Policy", "WebhookDispatcher"]

log = logging.getLogger("rollcall.webhooks")

_BATCH = 500


class WebhookDispatcher(CallbackAttempts):
    def __init__(
        self,
        store: Store,
        auth: Authenticator,
        clock: Clock,
        policy: Policy | None = None,
        dead_letters: DeadLetterStore | None = None,
    ) -> None:
        self.store = store
        self.dead_letters = dead_letters
        self.auth = auth
        self.clock = clock
        self.policy = policy or Policy()
        self._lanes: dict[str, Lane] = {}
        metrics.BACKLOG_AGE.set_function(self.backlog_age)
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False
        self._retrying = 0
        # Set (and replaced) whenever a lane starts, stops or begins a backoff.
        self._changed = asyncio.Event()

    # -- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP client and resume every conference that is behind."""
        self._stopping = False
        # No connection cap: each lane holds at most one connection, so a slow
        # receiver cannot starve other conferences of connections.
        # Every name resolves through the destination policy, so a connection is
        # only ever made to an address it allows.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0, resolver=PolicyResolver(self.policy.destinations)
            ),
            raise_for_status=False,
        )
        backlog = await self.rescan()
        if backlog:
            log.info("resuming status callbacks", extra={"conferences": backlog})

    async def rescan(self) -> int:
        """Wake every conference whose cursor is behind its revision (changes
        committed elsewhere, e.g. by another replica); returns how many."""
        backlog = await self.store.webhook_backlog()
        for account_sid, conference_sid in backlog:
            self._wake(self._lane(conference_sid, account_sid))
        return len(backlog)

    async def stop(self) -> None:
        """Cancel delivery; whatever is undelivered stays behind the cursors."""
        self._stopping = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for lane in self._lanes.values():
            if lane.cursor is not None and lane.cursor != lane.saved:
                try:
                    await self.store.save_webhook_cursor(lane.cursor, {})
                except Exception:
                    log.exception("cannot save callback cursor", extra={"conference": lane.sid})
        self._lanes.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def flush(self) -> None:
        """Save every cursor that moved only in memory (before compaction, which
        never deletes events past a saved cursor). Saves never go backwards."""
        for lane in list(self._lanes.values()):
            cursor = lane.cursor
            if cursor is not None and cursor != lane.saved:
                await self.store.save_webhook_cursor(cursor, {})
                lane.saved = cursor

    def pending(self) -> int:
        """Conferences with delivery under way (behind, sending or retrying)."""
        return sum(1 for lane in self._lanes.values() if lane.task is not None)

    def retrying(self) -> int:
        """Callbacks waiting for the clock to allow their next attempt."""
        return self._retrying

    async def wait_idle(self) -> None:
        """Until every conference is caught up (tests, benchmarks)."""
        await self._wait_until(lambda: self.pending() == 0)

    async def wait_retrying(self, count: int = 1) -> None:
        """Until at least `count` callbacks wait for a retry (tests drive the clock)."""
        await self._wait_until(lambda: self._retrying >= count)

    async def _wait_until(self, predicate: Callable[[], bool]) -> None:
        while True:
            changed = self._changed
            if predicate():
                return
            await changed.wait()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- waking --------------------------------------------------------------

    # -- the change feed's subscriber ------------------------------------------

    def committed(self, events: Sequence[Event]) -> None:
        """This process's change: queue its events on their lanes and wake them."""
        touched: dict[str, Lane] = {}
        for event in events:
            lane = self._lane(event.conference_sid, event.account_sid)
            if len(lane.inbox) < _BATCH:
                lane.inbox.append(event)
            else:
                lane.overflow = True  # too far behind: it reads the store instead
            touched[lane.sid] = lane
        for lane in touched.values():
            self._wake(lane)

    def heard(self, conference_sid: str, revision: int) -> None:
        """Another replica's commit: found by a backlog scan (rescan), which
        the replica coordinator runs; one process never hears any."""

    def watching(self) -> tuple[str, ...]:
        """Nothing: the backlog scan reads the store itself."""
        return ()

    def backlog_age(self) -> float:
        """Seconds since the longest-running delivery task last delivered (or
        started): 0 with none running."""
        running = [lane.since for lane in self._lanes.values() if lane.task is not None]
        return max(self.clock.now() - min(running), 0.0) if running else 0.0

    def _lane(self, conference_sid: str, account_sid: str) -> Lane:
        lane = self._lanes.get(conference_sid)
        if lane is None:
            lane = self._lanes[conference_sid] = Lane(conference_sid, account_sid)
        return lane

    def _wake(self, lane: Lane) -> None:
        lane.wanted = True
        lane.origin = tracing.capture()
        if lane.task is None and not self._stopping and self._session is not None:
            # A context of its own: the lane outlives the change that woke it
            # (its actor and request id stay there; the trace goes as origin).
            lane.task = asyncio.create_task(
                self._run(lane), name=f"callbacks {lane.sid}", context=contextvars.Context()
            )
            lane.since = self.clock.now()
            metrics.BACKLOG.inc()
            self._signal()

    async def _run(self, lane: Lane) -> None:
        try:
            while lane.wanted and not self._stopping:
                lane.wanted = False
                try:
                    await self._drain(lane)
                except Exception:
                    # The store failed us: try again later, from the cursor.
                    log.exception("status callback delivery failed", extra={"conference": lane.sid})
                    self.clock.call_later(self.policy.backoff_max_seconds, lambda: self._wake(lane))
                    return
        finally:
            lane.task = None
            metrics.BACKLOG.dec()
            if lane.finished and not lane.wanted and self._lanes.get(lane.sid) is lane:
                del self._lanes[lane.sid]
            self._signal()

    # -- the lane ------------------------------------------------------------

    async def _drain(self, lane: Lane) -> None:
        """Send every callback after the cursor; return when caught up."""
        if lane.cursor is None:
            stored = await self.store.webhook_cursor(lane.sid)
            lane.cursor = lane.saved = stored or WebhookCursor(lane.sid, lane.account_sid)
            lane.calls = await self.store.call_sequences(lane.sid) if stored else {}
        while not self._stopping:
            events = self._from_inbox(lane)
            from_store = events is None
            if events is None:
                events = await self.store.events(lane.sid, lane.cursor.revision, _BATCH)
            for event in events:
                if event.revision <= lane.cursor.revision:
                    continue
                if event.revision > lane.cursor.revision + 1:
                    self._skip_gap(lane, event.revision)
                await self._handle(lane, event)
            if lane.inbox or (from_store and len(events) == _BATCH):
                continue
            break
        cursor, saved = lane.cursor, lane.saved
        assert saved is not None
        if cursor != saved and (lane.finished or cursor.revision - saved.revision >= _BATCH):
            await self.store.save_webhook_cursor(cursor, {}, finished=lane.finished)
            lane.saved = cursor

    def _from_inbox(self, lane: Lane) -> list[Event] | None:
        """The notified events, if they continue the cursor without a gap."""
        assert lane.cursor is not None
        inbox = sorted(
            (e for e in lane.inbox if e.revision > lane.cursor.revision), key=lambda e: e.revision
        )
        lane.inbox = []
        if not inbox or lane.overflow:
            lane.overflow = False
            return None
        expected = range(lane.cursor.revision + 1, lane.cursor.revision + 1 + len(inbox))
        if [e.revision for e in inbox] != list(expected):
            return None
        return inbox

    def _skip_gap(self, lane: Lane, revision: int) -> None:
        assert lane.cursor is not None
        lost = revision - lane.cursor.revision - 1
        metrics.SKIPPED_EVENTS.inc(lost)
        log.error(
            "events compacted before their status callbacks were sent",
            extra={"conference": lane.sid, "after_revision": lane.cursor.revision, "lost": lost},
        )
        lane.cursor = dataclasses.replace(lane.cursor, revision=revision - 1, step=0)

    async def _handle(self, lane: Lane, event: Event) -> None:
        assert lane.cursor is not None
        label = None
        ending = event.conference.call_sid_ending_conference
        if ending is not None and needs_ending_label(event):
            found = await self.store.participant(lane.sid, ending, include_ended=True)
            label = None if found is None else found.label
        callbacks = callbacks_for(event, ending_label=label)
        finished = event.type is EventType.CONFERENCE_ENDED
        for index in range(lane.cursor.step, len(callbacks)):
            callback = callbacks[index]
            cursor = lane.cursor
            params = dict(callback.params)
            calls: dict[str, int] = {}
            sequence = cursor.sequence
            if callback.kind is Kind.CALL:
                assert callback.call_sid is not None
                number = lane.calls.get(callback.call_sid, 0)
                calls[callback.call_sid] = number + 1
            else:
                number = cursor.sequence
                sequence += 1
            params["SequenceNumber"] = str(number)
            await self._deliver(lane, event, callback, params)
            done = index + 1 == len(callbacks)
            after = dataclasses.replace(
                cursor,
                revision=event.revision if done else event.revision - 1,
                step=0 if done else index + 1,
                sequence=sequence,
            )
            await self.store.save_webhook_cursor(after, calls, finished=finished and done)
            lane.calls.update(calls)
            lane.cursor = lane.saved = after
        if lane.cursor.revision < event.revision:
            lane.cursor = dataclasses.replace(lane.cursor, revision=event.revision, step=0)
        if finished:
            lane.finished = True
