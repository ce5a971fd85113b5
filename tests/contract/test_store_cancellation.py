"""Writers cancelled at every point of a change, on every adapter (the
`store` fixture of tests/contract/conftest.py): the store is never left
inside a change, and the other writers get their true outcome."""

from __future__ import annotations

import asyncio

from service.core.ports.store import Store

WRITERS = 5
# Event-loop turns after which the victim is cancelled: covers waiting in
# line, each statement of the change and its commit (SQLite: BEGIN, SAVEPOINT,
# the body, RELEASE and the COMMIT of its batch).
POINTS = 60


async def _spin(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_a_cancelled_writer_never_wedges_or_fails_the_others(store: Store) -> None:
    for point in range(POINTS):
        for victim in (0, WRITERS - 1):  # first in line (BEGIN), last (its turn to commit)
            tasks = [
                asyncio.create_task(store.set_meta(f"k{point}-{victim}-{n}", "v"))
                for n in range(WRITERS)
            ]
            await _spin(point)
            tasks[victim].cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for n, outcome in enumerate(outcomes):
                if n == victim:
                    assert outcome is None or isinstance(outcome, asyncio.CancelledError)
                    continue
                assert outcome is None, (point, victim, n, outcome)
                assert await store.get_meta(f"k{point}-{victim}-{n}") == "v"
            # The next write works.
            await asyncio.wait_for(store.set_meta(f"after-{point}-{victim}", "v"), 10)
            assert await store.get_meta(f"after-{point}-{victim}") == "v"
