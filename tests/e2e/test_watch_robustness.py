"""Watch robustness in the style of etcd's: random concurrent writes across
several conferences while watchers disconnect at random and resume from their
last revision, with compaction forcing some of them to re-snapshot.

Checks, per watcher: events in revision order, each exactly once, no gaps
(every revision after a resume is the next one, and the revisions a watcher
saw match the event table), the marker rule, and that the state rebuilt from
the stream equals a final List.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.status import from_rpc_error
from tests.conftest import Harness, started
from tests.e2e.helpers import list_all
from tests.fakes.core import Listener

CONFERENCES = ("alpha", "beta", "gamma")
WRITERS = 4
OPS_PER_WRITER = 60
WATCHERS = 6


class Watcher:
    def __init__(self, h: Harness, conference_sid: str, rng: random.Random) -> None:
        self.h = h
        self.conference_sid = conference_sid
        self.rng = rng
        self.state: dict[str, pb.Participant] = {}  # type: ignore[name-defined]
        self.cursor: int | None = None
        self.seen: list[int] = []
        self.resnapshots = 0
        self.resumes = 0
        self.ended = False

    def request(self) -> pb.WatchConferenceRequest:
        parent = self.h.parent(self.conference_sid)
        if self.cursor is None:
            return pb.WatchConferenceRequest(parent=parent)
        return pb.WatchConferenceRequest(parent=parent, resume_after_revision=self.cursor)

    async def session(self, budget: int, stop_at: int | None = None) -> None:
        """Read up to `budget` items (or until `stop_at` is covered), then hang up."""
        call = self.h.stub.WatchConference(self.request(), metadata=self.h.md())
        resumed_from = self.cursor
        first = True
        snapshot: dict[str, Any] = {}
        try:
            async for item in call:
                kind = item.WhichOneof("item")
                if kind == "initial_participant":
                    snapshot[item.initial_participant.call_sid] = item.initial_participant
                elif kind == "initial_state_complete":
                    self.state = snapshot
                    self.cursor = item.initial_state_complete.revision
                elif kind == "progress":
                    assert self.cursor is not None
                    assert item.progress.revision >= self.cursor
                    self.cursor = item.progress.revision
                else:
                    event = item.event
                    assert self.cursor is not None
                    if first and resumed_from is not None:
                        assert event.revision == resumed_from + 1, "resume skipped an event"
                    assert event.revision == self.cursor + 1, (
                        f"gap or repeat: {self.cursor} -> {event.revision}"
                    )
                    first = False
                    self.cursor = event.revision
                    self.seen.append(event.revision)
                    if event.HasField("participant"):
                        p = event.participant
                        if p.status in (5, 6):  # complete, failed
                            self.state.pop(p.call_sid, None)
                        else:
                            self.state[p.call_sid] = p
                    if event.type == pb.CONFERENCE_EVENT_TYPE_CONFERENCE_ENDED:
                        self.ended = True
                budget -= 1
                if budget <= 0:
                    break
                if stop_at is not None and self.cursor is not None and self.cursor >= stop_at:
                    return
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc)
            assert error.reason == "REVISION_COMPACTED", error
            self.cursor = None  # re-snapshot
            self.resnapshots += 1
            return
        finally:
            call.cancel()
        if resumed_from is not None:
            self.resumes += 1
        if budget > 0 and not self.ended:
            # The stream closed by itself: only when the conference ended.
            raise AssertionError("stream closed before the conference ended")


async def _writer(h: Harness, rng: random.Random, mine: list[str]) -> None:
    for _ in range(OPS_PER_WRITER):
        conf = rng.choice(CONFERENCES)
        roll = rng.random()
        try:
            if roll < 0.4 or not mine:
                r = await h.stub.CreateParticipant(
                    pb.CreateParticipantRequest(
                        parent=h.parent(conf),
                        from_endpoint="+15005550006",
                        to_endpoint="+15557770000",
                    ),
                    metadata=h.md(),
                )
                mine.append(r.participant.name)
            elif roll < 0.85:
                await h.stub.UpdateParticipant(
                    pb.UpdateParticipantRequest(
                        name=rng.choice(mine), muted=rng.random() < 0.5, hold=rng.random() < 0.3
                    ),
                    metadata=h.md(),
                )
            elif roll < 0.95:
                await h.stub.DeleteParticipant(
                    pb.DeleteParticipantRequest(name=mine.pop(rng.randrange(len(mine)))),
                    metadata=h.md(),
                )
            else:
                await h.advance(rng.choice((0.0, 1.0, 2.5)))
        except grpc.aio.AioRpcError as exc:
            # A participant that already left, or a full conference: fine under churn.
            assert exc.code() in (
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.FAILED_PRECONDITION,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            ), exc


@pytest.mark.slow
async def test_random_writes_with_disconnecting_watchers(tmp_path: Path) -> None:
    rng = random.Random(20261120)
    async with started(
        tmp_path, event_retention_count=10, event_retention_seconds=0, watch_progress_seconds=1
    ) as h:
        # Anchor each conference with a participant nobody deletes, so they stay active.
        sids = {}
        anchors = {}
        for conf in CONFERENCES:
            r = await h.stub.CreateParticipant(
                pb.CreateParticipantRequest(
                    parent=h.parent(conf), from_endpoint="+15005550006", to_endpoint="+15550001111"
                ),
                metadata=h.md(),
            )
            sids[conf] = r.participant.conference_sid
            anchors[conf] = r.participant.name
        watchers = [
            Watcher(h, sids[rng.choice(CONFERENCES)], random.Random(i)) for i in range(WATCHERS)
        ]
        done = asyncio.Event()
        committed = asyncio.Event()  # set at each commit; waiters clear it
        total = [0]

        def count(events: Sequence[Any]) -> None:
            total[0] += len(events)
            committed.set()

        h.app.feed.subscribe(Listener(count))

        async def away(changes: int) -> None:
            """Stay disconnected while `changes` more events are committed."""
            target = total[0] + changes
            while total[0] < target and not done.is_set():
                committed.clear()
                await committed.wait()

        async def watch_loop(w: Watcher) -> None:
            while not done.is_set():
                await w.session(w.rng.randint(1, 15))
                if w.rng.random() < 0.3:
                    await away(40)

        async def compactor() -> None:
            while not done.is_set():
                await away(15)  # compact after every 15 committed changes
                await h.app.compact()

        watching = [asyncio.create_task(watch_loop(w)) for w in watchers]
        compacting = asyncio.create_task(compactor())
        await asyncio.gather(*(_writer(h, random.Random(n), []) for n in range(WRITERS)))
        done.set()
        committed.set()
        await compacting
        for task in watching:  # a watcher may be idle on a quiet conference
            task.cancel()
        results = await asyncio.gather(*watching, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) or r is None for r in results), results

        # Whether compaction overtook a random watcher depends on scheduling;
        # this one it overtakes for certain: it is away while more changes
        # commit than are retained, and compaction runs meanwhile.
        late = Watcher(h, sids["alpha"], random.Random(-1))
        now = await h.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=h.parent(sids["alpha"]), page_size=1),
            metadata=h.md(),
        )
        await late.session(100_000, stop_at=now.revision)
        for n in range(12):
            await h.stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=anchors["alpha"], muted=n % 2 == 0),
                metadata=h.md(),
            )
        await h.advance(1.0)  # only events older than now are compacted
        await h.app.compact()
        await late.session(1)  # the first item is the refusal, or a (wrong) event
        assert late.resnapshots == 1
        watchers.append(late)

        # Catch every watcher up to the final revision, then compare with List.
        for w in watchers:
            final = await h.stub.ListParticipants(
                pb.ListParticipantsRequest(parent=h.parent(w.conference_sid), page_size=1000),
                metadata=h.md(),
            )
            while w.cursor is None or w.cursor < final.revision:
                await w.session(100_000, stop_at=final.revision)
            listed = {p.call_sid: p for p in await list_all(h, w.conference_sid)}
            assert set(w.state) == set(listed)
            for call_sid, p in listed.items():
                assert w.state[call_sid].revision == p.revision
                assert w.state[call_sid].muted == p.muted
                assert w.state[call_sid].hold == p.hold
                assert w.state[call_sid].status == p.status
            assert w.seen == sorted(set(w.seen)), "events repeated or out of order"
        retained = await h.app.store.events(watchers[0].conference_sid, 0, 100_000)
        revisions = [e.revision for e in retained]
        assert revisions == list(range(revisions[0], revisions[0] + len(revisions)))
        resumes = sum(w.resumes for w in watchers)
        resnapshots = sum(w.resnapshots for w in watchers)
        assert resumes > 0, "no watcher ever resumed: the test exercised nothing"
        assert resnapshots > 0, "compaction never forced a re-snapshot"  # `late` at least
