"""What coalesced speaking events cost Create: its throughput while 1,000 participants talk.

Rule 1: each round has one in-process core (the server's assembly: SQLite store, its
        change feed, the simulated carrier, the system clock, the default speaking
        interval); creators (closed loop, 16 at once) into their own conferences;
        and a speech source that delivers every participant's speech-start and -stop
        reports through the core's report entry, as the carrier adapters do, each
        participant changing state about once a second.
Rule 2: rounds are interleaved in the same run (Create alone, then with speech),
        each on a fresh database, and the figure is the paired ratio of Creates per
        second; the goal is >= 0.9x (speech costs Create at most 10%).
Rule 3: Create runs through the core, not gRPC: the row isolates what speech adds to
        the write path.
Rule 4: `python -m bench.speaking [--seconds N] [--rounds N]` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import Figure, Goal
from service.carriers.simulated.adapter import SimulatedCarrier
from service.clock import SystemClock
from service.config import Settings
from service.core import assemble
from service.core.commands import ConferenceRef, CreateCommand
from service.core.events import Event, EventType
from service.core.ports.carrier import ConferenceEvent, ConferenceReport, Report
from service.store.choose import open_store

ACCOUNT = "AC" + "b" * 32
TALKERS = 1000
ROOMS = 10  # talkers per room: 100
CREATORS = 16
TICK = 0.1  # seconds between batches of speech reports


def _command(room: str, n: int) -> CreateCommand:
    return CreateCommand(
        conference=ConferenceRef(ACCOUNT, room),
        from_endpoint="+15005550006",
        to_endpoint=f"+1555{n % 10_000_000:07d}",
        label=None,
        muted=False,
        start_conference_on_enter=True,
        end_conference_on_exit=False,
        wait_url=None,
        wait_method="POST",
        timeout=600,
        time_limit=14400,
        max_participants=250,
        conference_settings={},
        settings={},
    )


async def _round(
    database: Path, seconds: float, *, speech: bool, creators: int = CREATORS
) -> tuple[float, int, int]:
    """Creates per second over `seconds` (with no creators: the process's CPU
    seconds per second instead); the speech reports delivered and the
    speaking events published."""
    parts = open_store(Settings(database=str(database)))
    store = parts.store
    await store.open()
    clock = SystemClock()
    holder: list[assemble.Core] = []

    async def sink(report: Report) -> None:
        await holder[0].reports.on_report(report)

    carrier = SimulatedCarrier(clock, sink, ring_seconds=3600, calls_per_second=0)
    core = assemble.build(store, carrier, clock, parts.feed)
    holder.append(core)
    published = 0

    class Counter:
        def committed(self, events: Sequence[Event]) -> None:
            nonlocal published
            published += sum(1 for e in events if e.type is EventType.PARTICIPANT_SPEAKING)

        def heard(self, conference_sid: str, revision: int) -> None:
            return None

        def watching(self) -> list[str]:
            return []

    parts.feed.subscribe(Counter())
    talkers = []
    for n in range(TALKERS):
        talker, _ = await core.participants.create(_command(f"talk-{n % ROOMS}", n))
        talkers.append(talker)
    delivered = 0
    stop = asyncio.Event()

    async def talk() -> None:
        nonlocal delivered
        sequence = itertools.count(1)
        speaking = [False] * TALKERS
        batch = max(1, round(TALKERS * TICK))  # each talker flips about once a second
        turn = 0
        while not stop.is_set():
            for _ in range(batch):
                i = turn % TALKERS
                turn += 1
                speaking[i] = not speaking[i]
                p = talkers[i]
                event = (
                    ConferenceEvent.PARTICIPANT_SPEECH_START
                    if speaking[i]
                    else ConferenceEvent.PARTICIPANT_SPEECH_STOP
                )
                await core.reports.on_report(
                    ConferenceReport(
                        event,
                        p.conference_sid,
                        next(sequence),
                        clock.now(),
                        account_sid=ACCOUNT,
                        call_sid=p.call_sid,
                    )
                )
                delivered += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK)

    created = 0
    numbers = itertools.count(TALKERS)

    async def create() -> None:
        nonlocal created
        while not stop.is_set():
            n = next(numbers)
            await core.participants.create(_command(f"create-{n // 200}", n))
            created += 1

    speaker = asyncio.ensure_future(talk()) if speech else None
    await asyncio.sleep(0.5)  # the speech source running before the window
    began, cpu = time.perf_counter(), time.process_time()
    running = [asyncio.ensure_future(create()) for _ in range(creators)]
    await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - began
    rate = created / elapsed if creators else (time.process_time() - cpu) / elapsed
    await asyncio.gather(*running)
    if speaker is not None:
        await speaker
    await core.reports.speech.close()
    await carrier.close()
    await core.runtime.changes.drain()
    await store.close()
    return rate, delivered, published


def run_section(
    *, seconds: float, rounds: int, run_dir: Path, log: Callable[[str], None]
) -> list[Figure]:
    alone: list[float | None] = []
    talking: list[float | None] = []
    share: list[float | None] = []
    reports = events = 0
    for n in range(rounds):
        # Alternate which goes first, so neither always runs on a warmer machine.
        for speech in (False, True) if n % 2 == 0 else (True, False):
            name = f"speak-{'talk' if speech else 'alone'}-{n}.sqlite3"
            rate, delivered, published = asyncio.run(_round(run_dir / name, seconds, speech=speech))
            (talking if speech else alone).append(rate)
            reports += delivered
            events += published
        used, _, _ = asyncio.run(
            _round(run_dir / f"speak-only-{n}.sqlite3", seconds, speech=True, creators=0)
        )
        share.append(used)
        log(
            f"bench: speaking round {n}: alone {alone[-1]:.0f}/s, talking {talking[-1]:.0f}/s,"
            f" speech alone {used:.1%} of a core"
        )
    note = (
        f"{TALKERS} participants each changing speech state about once a second:"
        f" {reports:,} reports coalesced into {events:,} speaking events over the rounds;"
        " Create through the core (no gRPC), 16 at once, SQLite"
    )
    return [
        Figure(
            section="speaking",
            name="Create while 1,000 talk",
            unit="creates/s",
            baseline_label="Create alone",
            rollcall_rounds=talking,
            baseline_rounds=alone,
            goal=Goal(">=", 0.9),
            note=note,
        ),
        Figure(
            section="speaking",
            name="speech alone: CPU share",
            unit="ratio",
            baseline_label="one core",
            rollcall_rounds=share,
            baseline_rounds=[1.0] * len(share),
            goal=Goal("<=", 0.1),
            note="the process's CPU seconds per second while 1,000 talk and nothing else"
            " runs: the part of a core (what Create is bound by) speech takes",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_section(
            seconds=args.seconds, rounds=args.rounds, run_dir=Path(tmp), log=print
        )
    for figure in figures:
        print(f"{figure.name}: {figure.rollcall} vs {figure.baseline}: ratio {figure.ratio}")
        print(figure.note)


if __name__ == "__main__":
    main()
