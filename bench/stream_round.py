"""One round of a watcher process (bench.watch_streams, bench.floor_streams): its
streams' counts, and the protocol with the orchestrator.

Rule 1: a stream is ready once it has its snapshot or has ended (`started`,
        counted once); `ready` is printed when every stream is.
Rule 2: after the snapshot, an event at a revision above the stream's start is
        timed (receipt minus the server's stamp) and counted once per new
        revision; a stream that reaches the final revision is done.
Rule 3: `finish` reads the line `final REVISION` on stdin, waits until every
        stream has that revision or `drain` seconds pass, cancels the streams,
        and answers the round's JSON: expected, received and lost events (lost:
        never arrived), every latency, and the process's CPU-seconds meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Stream:
    __slots__ = ("last", "ready", "received", "start")

    def __init__(self) -> None:
        self.start: int | None = None
        self.last = 0
        self.received = 0
        self.ready = False


class Round:
    def __init__(self, n: int) -> None:
        self.streams = [Stream() for _ in range(n)]
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.ready = asyncio.Event()
        self._caught_up = asyncio.Event()
        self._ready_count = 0
        self._behind = n
        self._final: int | None = None

    def started(self, state: Stream) -> None:
        """Rule 1."""
        if state.ready:
            return
        state.ready = True
        self._ready_count += 1
        if self._ready_count == len(self.streams):
            self.ready.set()

    @staticmethod
    def snapshot(state: Stream, revision: int) -> None:
        state.start = state.last = revision

    def event(self, state: Stream, revision: int, stamped_ns: int, received_at: float) -> bool:
        """Rule 2: True when the stream has everything (it may stop)."""
        if state.start is None or revision <= state.start:
            return False
        self.latencies.append(received_at - stamped_ns / 1e9)
        if revision > state.last:
            state.received += 1
            state.last = revision
        if self._final is not None and state.last >= self._final:
            self._behind -= 1
            if self._behind == 0:
                self._caught_up.set()
            return True
        return False

    def final(self, revision: int) -> None:
        """The revision every stream must reach."""
        self._final = revision
        self._behind = sum(1 for s in self.streams if s.last < revision)
        if self._behind == 0:
            self._caught_up.set()

    async def finish(
        self,
        tasks: Sequence[asyncio.Task[None]],
        close: Callable[[], Awaitable[None]],
        drain: float,
    ) -> dict[str, Any]:
        """Rule 3, once every stream is ready (`close` closes the connections)."""
        await self.ready.wait()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        cpu_before, wall_before = time.process_time(), time.monotonic()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        self.final(int(line.split()[1]))
        drained = True
        try:
            await asyncio.wait_for(self._caught_up.wait(), drain)
        except TimeoutError:
            drained = False
        cpu_after, wall_after = time.process_time(), time.monotonic()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close()
        return {
            **self.counts(),
            "drained": drained,
            "errors": self.errors[:5],
            "client_cpu": cpu_after - cpu_before,
            "client_wall": wall_after - wall_before,
            "latencies_ms": [round(v * 1000, 3) for v in self.latencies],
        }

    def counts(self) -> dict[str, int]:
        """Expected, received and lost events up to the final revision."""
        final = self._final or 0
        began = [s for s in self.streams if s.start is not None]
        expected = sum(final - s.start for s in began if s.start is not None)
        received = sum(min(s.received, final - s.start) for s in began if s.start is not None)
        return {
            "streams": len(self.streams),
            "expected": expected,
            "received": received,
            "lost": expected - received,
        }
