"""Writers cancelled at every point of a change: the writer connection is
never left inside a transaction, and the others in the batch get their true
outcome (the SQLite store; written against the Store port)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.store.sqlite.store import SqliteStore

WRITERS = 5
# Event-loop turns after which the victim is cancelled: covers waiting in
# line, BEGIN, SAVEPOINT, the body, RELEASE and the COMMIT of its batch.
POINTS = 60


async def _spin(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_a_cancelled_writer_never_wedges_or_fails_the_others(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "cancel.sqlite3"))
    await store.open()
    try:
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
    finally:
        await store.close()
