"""Soak: a steady mixed load with short retention windows; the database stops growing.

Rule 1: one Rollcall server (SQLite, its own database) runs with every retention
        window at WINDOW seconds, passes every PASS_EVERY seconds and a short event
        retention (so compaction has work on long-lived conferences).
Rule 2: the load is paced and open-loop: LIFECYCLES_PER_SECOND conference
        lifecycles, seven writes each (two Creates with a request_id, a mute and an
        unmute, a Delete, the conference ended, plus a mute toggle in one of a few
        long-lived busy conferences).
Rule 3: it reads the database's size every SAMPLE_EVERY seconds (file plus WAL, and
        the pages in use: page_count - freelist_count), and every write's latency,
        tagged by whether a retention pass or a compaction ran in its moment (the
        server's rollcall_maintenance_* metrics, read every POLL seconds).
Rule 4: the figures: the size at the end against the size one window after the load
        began (goal: at most 1.1x, a plateau); bytes per live participant and per
        ended participant (kept, with its conference and log); write p99 in moments
        with a retention pass, and with a compaction, against moments with neither
        (goal: at most 1.2x), the plateau cut into three rounds.
Rule 5: it is bounded in time and count (the load stops by itself), on 127.0.0.1
        only; it measures, it never asserts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg
import grpc

from bench import target
from bench.proc import PYTHON, ServerProcess
from bench.report import REPORTED, Figure, Goal
from bench.stats import percentile
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc

SECTION = "soak"
WINDOW = 20.0  # every retention window, seconds
PASS_EVERY = 4.0
COMPACT_EVERY = 7.0
SAMPLE_EVERY = 5.0
POLL = 0.1
ROUND_SECONDS = 20.0
LIFECYCLES_PER_SECOND = 15.0
BUSY_CONFERENCES = 4
LIVE_PARTICIPANTS = 200
BANNER = re.compile(r"gRPC on [0-9.]+:(\d+)(?:, metrics on port (\d+))?")
ACCOUNT = f"accounts/{target.ACCOUNT_SID}"

SETTINGS = {
    "ROLLCALL_SIM_OUTCOMES": f"{target.ANSWER_AT_ONCE}=answer:0",
    "ROLLCALL_METRICS_LISTEN": "127.0.0.1:0",
    "ROLLCALL_ENDED_PARTICIPANT_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_ENDED_CONFERENCE_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_REQUEST_ID_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_CARRIER_CALL_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_CARRIER_CALLBACK_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_DEAD_LETTER_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_AUDIT_RETENTION_SECONDS": str(WINDOW),
    "ROLLCALL_RETENTION_INTERVAL_SECONDS": str(PASS_EVERY),
    "ROLLCALL_EVENT_RETENTION_SECONDS": str(WINDOW / 2),
    "ROLLCALL_EVENT_RETENTION_COUNT": "50",
    "ROLLCALL_COMPACTION_INTERVAL_SECONDS": str(COMPACT_EVERY),
    "ROLLCALL_MAX_IN_FLIGHT": "0",
}


@dataclasses.dataclass
class Size:
    at: float  # seconds since the load began
    file_bytes: int  # database file plus WAL
    used_bytes: int  # pages in use (page_count - freelist_count)
    free_pages: int
    live: int
    ended: int


@dataclasses.dataclass
class Busy:
    """When maintenance ran: (start, end) of each poll interval it touched."""

    retention: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    compaction: list[tuple[float, float]] = dataclasses.field(default_factory=list)


def measure(database: Path | str, began: float) -> Size:
    if isinstance(database, str):
        return asyncio.run(_measure_postgres(database, began))
    wal = Path(f"{database}-wal")
    file_bytes = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        counts = dict(conn.execute("SELECT active, COUNT(*) FROM participants GROUP BY active"))
    finally:
        conn.close()
    return Size(
        time.monotonic() - began,
        file_bytes,
        (pages - free) * page_size,
        free,
        counts.get(1, 0),
        counts.get(0, 0),
    )


async def _measure_postgres(dsn: str, began: float) -> Size:
    """Tables with their indexes and TOAST (what the database holds on disk for
    them), and the dead rows autovacuum has yet to make reusable."""
    conn = await asyncpg.connect(dsn)
    try:
        total = await conn.fetchval(
            "SELECT SUM(pg_total_relation_size(c.oid))::bigint FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        dead = await conn.fetchval("SELECT SUM(n_dead_tup)::bigint FROM pg_stat_user_tables")
        counts = dict(
            await conn.fetch("SELECT active::int, COUNT(*) FROM participants GROUP BY active")
        )
    finally:
        await conn.close()
    return Size(
        time.monotonic() - began, int(total), int(total), int(dead or 0),
        counts.get(1, 0), counts.get(0, 0),
    )  # fmt: skip


_SAMPLE = re.compile(r'^rollcall_maintenance_(runs_total|running)\{task="(\w+)"\} (\S+)$', re.M)


def maintenance(metrics_port: int) -> dict[tuple[str, str], float]:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {(m[1], m[2]): float(m[3]) for m in _SAMPLE.finditer(text)}


async def watch_maintenance(
    metrics_port: int, began: float, busy: Busy, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, maintenance, metrics_port)
    then = time.monotonic() - began
    while not stop.is_set():
        await asyncio.sleep(POLL)  # sampling period of a poll, not an ordering
        now_values = await loop.run_in_executor(None, maintenance, metrics_port)
        now = time.monotonic() - began
        for task, spans in (("retention", busy.retention), ("compaction", busy.compaction)):
            ran = now_values.get(("runs_total", task), 0) > before.get(("runs_total", task), 0)
            running = now_values.get(("running", task), 0) or before.get(("running", task), 0)
            if ran or running:
                spans.append((then, now))
        before, then = now_values, now


class Load:
    """Paced conference lifecycles; every write's (start, seconds)."""

    def __init__(self, channel: grpc.aio.Channel, busy_names: Sequence[str]) -> None:
        self.participants = pb_grpc.ParticipantServiceStub(channel)
        self.conferences = cpb_grpc.ConferenceServiceStub(channel)
        self.busy_names = list(busy_names)
        self.writes: list[tuple[float, float]] = []
        self.failures = 0
        self.began = time.monotonic()
        self._count = 0

    async def _timed(self, call: object) -> object:
        start = time.monotonic()
        result = await call  # type: ignore[misc]
        self.writes.append((start - self.began, time.monotonic() - start))
        return result

    async def lifecycle(self, n: int) -> None:
        md = target.METADATA
        parent = f"{ACCOUNT}/conferences/soak-{n}"
        try:
            created = []
            for _ in range(2):
                request = pb.CreateParticipantRequest(
                    parent=parent, from_endpoint=target.FROM, to_endpoint=target.ANSWER_AT_ONCE,
                    request_id=uuid.uuid4().hex,
                )  # fmt: skip
                response = await self._timed(
                    self.participants.CreateParticipant(request, metadata=md, timeout=30)
                )
                created.append(response.participant)  # type: ignore[attr-defined]
            first, second = created
            for muted in (True, False):
                await self._timed(
                    self.participants.UpdateParticipant(
                        pb.UpdateParticipantRequest(name=first.name, muted=muted),
                        metadata=md,
                        timeout=30,
                    )
                )
            busy = self.busy_names[n % len(self.busy_names)]
            await self._timed(
                self.participants.UpdateParticipant(
                    pb.UpdateParticipantRequest(name=busy, muted=n % 2 == 0),
                    metadata=md,
                    timeout=30,
                )
            )
            await self._timed(
                self.participants.DeleteParticipant(
                    pb.DeleteParticipantRequest(name=second.name), metadata=md, timeout=30
                )
            )
            await self._timed(
                self.conferences.UpdateConference(
                    cpb.UpdateConferenceRequest(
                        name=f"{ACCOUNT}/conferences/{first.conference_sid}",
                        status=ppb.CONFERENCE_STATUS_COMPLETED,
                    ),
                    metadata=md,
                    timeout=30,
                )
            )
        except grpc.aio.AioRpcError:
            self.failures += 1

    async def run(self, seconds: float) -> None:
        """Start a lifecycle every 1/LIFECYCLES_PER_SECOND s (open loop) for `seconds`."""
        tasks: set[asyncio.Task[None]] = set()
        step = 1.0 / LIFECYCLES_PER_SECOND
        loop = asyncio.get_running_loop()
        due = loop.time()
        ends = due + seconds
        while due < ends:
            await asyncio.sleep(max(0.0, due - loop.time()))  # pacing, not ordering
            self._count += 1
            task = asyncio.create_task(self.lifecycle(self._count))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due += step
        if tasks:
            await asyncio.wait(tasks, timeout=60)


async def fixtures(channel: grpc.aio.Channel) -> tuple[list[str], int]:
    """The busy conferences' participants, and the live ones; returns their names
    and how many live participants there are."""
    stub = pb_grpc.ParticipantServiceStub(channel)
    names = []
    for i in range(BUSY_CONFERENCES + LIVE_PARTICIPANTS):
        conference = f"busy-{i}" if i < BUSY_CONFERENCES else f"live-{i % 4}"
        response = await stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=f"{ACCOUNT}/conferences/{conference}", from_endpoint=target.FROM,
                to_endpoint=target.ANSWER_AT_ONCE,
            ),
            metadata=target.METADATA, timeout=30,
        )  # fmt: skip
        names.append(response.participant.name)
    return names[:BUSY_CONFERENCES], LIVE_PARTICIPANTS + BUSY_CONFERENCES


def p99(
    writes: Sequence[tuple[float, float]],
    spans: Sequence[tuple[float, float]],
    other: Sequence[tuple[float, float]] = (),
) -> float | None:
    """p99 (ms) of the writes that started in `spans` and in none of `other`."""
    inside = [
        seconds
        for start, seconds in writes
        if any(a <= start < b for a, b in spans) and not any(a <= start < b for a, b in other)
    ]
    return percentile(sorted(inside), 99) * 1000 if len(inside) >= 20 else None


def quiet(writes: Sequence[tuple[float, float]], busy: Busy) -> list[tuple[float, float]]:
    spans = busy.retention + busy.compaction
    return [(s, d) for s, d in writes if not any(a <= s < b for a, b in spans)]


def run_section(
    *,
    server_cpus: Sequence[int],
    seconds: float,
    run_dir: Path,
    log: Callable[[str], None],
    store: str = "sqlite",
) -> list[Figure]:
    """The soak on SQLite (a file in run_dir) or on a throwaway PostgreSQL."""
    if store == "postgres":
        return _on_postgres(server_cpus, seconds, run_dir, log)
    database = run_dir / "soak.sqlite3"
    for leftover in run_dir.glob("soak.sqlite3*"):
        leftover.unlink()
    try:
        return _run(database, server_cpus, seconds, run_dir, log)
    finally:
        for leftover in run_dir.glob("soak.sqlite3*"):
            leftover.unlink()


def _on_postgres(
    server_cpus: Sequence[int], seconds: float, run_dir: Path, log: Callable[[str], None]
) -> list[Figure]:
    from tests.pg import PostgresServer  # the test suite's throwaway server

    server = PostgresServer(durable=True)
    try:
        dsn = server.create_database("soak")

        async def tune() -> None:
            # Autovacuum looks every 5 s (default 60 s), so a run of minutes
            # shows the steady state a day-long run would.
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("ALTER SYSTEM SET autovacuum_naptime = '5s'")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()

        asyncio.run(tune())
        return _run(dsn, server_cpus, seconds, run_dir, log)
    finally:
        server.close()


def _run(
    database: Path | str,
    server_cpus: Sequence[int],
    seconds: float,
    run_dir: Path,
    log: Callable[[str], None],
) -> list[Figure]:
    env = target.rollcall_env(database, http=False)
    env.update(SETTINGS)
    argv = [PYTHON, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"]
    server = ServerProcess(
        "rollcall-soak", argv, BANNER, cpus=server_cpus, env=env,
        log_path=run_dir / "rollcall-soak.log",
    ).start()  # fmt: skip
    try:
        return asyncio.run(_soak(server, database, seconds, log))
    finally:
        server.stop()


async def _soak(
    server: ServerProcess, database: Path | str, seconds: float, log: Callable[[str], None]
) -> list[Figure]:
    metrics_port = server.ports[1]
    async with grpc.aio.insecure_channel(server.target) as channel:
        loop = asyncio.get_running_loop()
        empty = await loop.run_in_executor(None, measure, database, time.monotonic())
        busy_names, live = await fixtures(channel)
        with_live = await loop.run_in_executor(None, measure, database, time.monotonic())
        load = Load(channel, busy_names)
        busy = Busy()
        sizes: list[Size] = []
        stop = asyncio.Event()

        async def sample() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                # In a thread: a read of the file may wait on its locks, and
                # the load's clock must not stop meanwhile.
                sizes.append(await loop.run_in_executor(None, measure, database, load.began))
                log(
                    f"[{SECTION}] t={sizes[-1].at:5.0f} s  file+WAL {sizes[-1].file_bytes:>12,} B"
                    f"  in use {sizes[-1].used_bytes:>12,} B  free pages {sizes[-1].free_pages:>6,}"
                    f"  live {sizes[-1].live:>5,}  ended {sizes[-1].ended:>6,}"
                )
                with_timeout = asyncio.create_task(stop.wait())
                await asyncio.wait({with_timeout}, timeout=SAMPLE_EVERY)
                with_timeout.cancel()

        watcher = asyncio.create_task(watch_maintenance(metrics_port, load.began, busy, stop))
        sampler = asyncio.create_task(sample())
        await load.run(seconds)
        stop.set()
        await asyncio.gather(watcher, sampler)
        sizes.append(await loop.run_in_executor(None, measure, database, load.began))
    log(f"[{SECTION}] {len(load.writes):,} writes, {load.failures} lifecycles failed")
    section = SECTION if isinstance(database, Path) else f"{SECTION} (PostgreSQL)"
    return figures(section, sizes, load.writes, busy, empty, with_live, live)


def figures(
    section: str,
    sizes: Sequence[Size],
    writes: Sequence[tuple[float, float]],
    busy: Busy,
    empty: Size,
    with_live: Size,
    live: int,
) -> list[Figure]:
    end = sizes[-1]
    # The plateau: from two windows in (everything made since has had time to
    # go); in use rises and falls with each pass, so its halves are compared
    # by their highest sample.
    settled = [s for s in sizes if s.at >= 2 * WINDOW] or list(sizes)
    start = settled[0]
    half = (start.at + end.at) / 2
    first_high = max(s.used_bytes for s in settled if s.at < half) if len(settled) > 1 else 0
    last_high = max(s.used_bytes for s in settled if s.at >= half)
    per_live = (with_live.used_bytes - empty.used_bytes) / live
    ended_kept = max(end.ended, 1)
    per_ended = (end.used_bytes - with_live.used_bytes) / ended_kept
    # Rounds of about ROUND_SECONDS over the plateau (at least three), each its own p99s.
    count = max(3, int((end.at - start.at) // ROUND_SECONDS))
    span = (end.at - start.at) / count
    rounds = [(start.at + i * span, start.at + (i + 1) * span) for i in range(count)]

    def in_round(r: tuple[float, float]) -> list[tuple[float, float]]:
        return [(s, d) for s, d in writes if r[0] <= s < r[1]]

    quiet_p99 = [p99(quiet(in_round(r), busy), [r]) for r in rounds]
    retention_p99 = [p99(in_round(r), busy.retention, busy.compaction) for r in rounds]
    compaction_p99 = [p99(in_round(r), busy.compaction, busy.retention) for r in rounds]
    curve = ", ".join(
        f"{s.at:.0f}s {s.file_bytes / 1e6:.1f}MB" for s in sizes[:: max(1, len(sizes) // 8)]
    )
    sqlite = section == SECTION
    size_name = "database size (file+WAL)" if sqlite else "table+index size"
    found = [
        Figure(
            section, f"{size_name}, end vs plateau start", "bytes",
            f"size at {start.at:.0f} s", [float(end.file_bytes)], [float(start.file_bytes)],
            Goal("<=", 1.1), note=f"{size_name} over the run: {curve}",
        ),
        Figure(
            section,
            f"{'pages in use' if sqlite else size_name}, highest in the plateau's 2nd half vs 1st",
            "bytes", "highest in the 1st half", [float(last_high)], [float(first_high)],
            Goal("<=", 1.1),
            note=f"free pages at the end: {end.free_pages:,} (freed pages are reused)" if sqlite
            else f"dead rows awaiting autovacuum at the end: {end.free_pages:,}",
        ),
        Figure(section, "disk per live participant", "bytes", "-", [per_live], [], REPORTED),
        Figure(
            section, "disk per ended participant kept", "bytes", "-", [per_ended], [], REPORTED,
            note=f"{end.ended:,} ended participants kept at the end, with their conferences"
            " and event logs",
        ),
        Figure(
            section, "write p99 during a retention pass", "ms", "write p99 with neither",
            retention_p99, quiet_p99, Goal("<=", 1.2),
        ),
        Figure(
            section, "write p99 during a compaction", "ms", "write p99 with neither",
            compaction_p99, quiet_p99, Goal("<=", 1.2),
        ),
    ]  # fmt: skip
    return found


def main() -> int:
    import argparse
    import sys

    from bench.proc import pin_self, plan_cpus
    from bench.report import table

    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    plan = plan_cpus()
    pin_self(plan.load)
    run_dir = Path(__file__).resolve().parent / "results" / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    found = run_section(
        server_cpus=plan.server, seconds=args.seconds, run_dir=run_dir,
        log=lambda m: print(m, file=sys.stderr, flush=True), store=args.store,
    )  # fmt: skip
    print(table(found))
    for f in found:
        if f.note:
            print(f"* {f.name}: {f.note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
