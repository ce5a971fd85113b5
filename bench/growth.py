"""Cost growth: a bulk loader for SQLite databases holding 1k to 1M stored participants.

Rule 1: it builds, outside the service and fast, a database in exactly the shape
        SqliteStore writes: its own migrations (service.store.sqlite.migrations),
        `schema_migrations` rows, participants' `data` as Participant.to_dict()
        without `seq`, conferences' `data` as Conference.to_dict(), one event row
        per revision as Event.to_dict(), and a webhook cursor per conference at its
        revision so nothing looks undelivered.
Rule 2: PER_CONFERENCE (200, under Twilio's 250) labelled participants per completed
        conference, each participant complete with one `participant-leave` event,
        and a `conference-end` event closing the conference.
Rule 3: everything stored has ended, as in a service that has run for a while; so
        the server's start-up recovery has nothing to resume, and the measured
        Creates and Fetches pay only for the size of the tables and indexes they
        touch. Fetches address stored participants by call SID with include_ended
        (sample_names).
Rule 4: rows are written with executemany in large transactions with journaling
        off, then the file is switched to WAL like the store's own.
Rule 5: each built file is cached under bench/results/cache/, keyed by a hash of the
        migrations, the model's fields and this loader's version; a cached file is
        used only when its key matches the code that reads it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.budget import Budget
from bench.load import LoadWorker, spec_for
from bench.proc import ServerProcess, rss_bytes
from bench.report import REPORTED, Figure, Goal
from bench.target import ACCOUNT_SID, FROM, RING_LONG, rollcall_server
from rollcall.v1 import participant_service_pb2 as pb
from service.core.events import Event, EventType
from service.core.records import Conference, Participant
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
)
from service.store.sqlite.migrations import migrations, statements

LOADER_VERSION = 1
PER_CONFERENCE = 200
_CHUNK_CONFERENCES = 250  # 50,000 participants per transaction
_EPOCH = 1_700_000_000.0


# Retention off for the stored participants and their conferences (0: for ever).
KEEP_STORED = {
    "ROLLCALL_ENDED_PARTICIPANT_RETENTION_SECONDS": "0",
    "ROLLCALL_ENDED_CONFERENCE_RETENTION_SECONDS": "0",
}


def schema_key() -> str:
    digest = hashlib.sha256(f"loader {LOADER_VERSION} per {PER_CONFERENCE}".encode())
    for version, name, sql in migrations():
        digest.update(f"{version} {name}\n{sql}".encode())
    for cls in (Participant, Conference, Event):
        digest.update(json.dumps(list(cls.__dataclass_fields__)).encode())
    return digest.hexdigest()[:16]


def _hex(prefix: str, kind: str, n: int) -> str:
    return prefix + hashlib.blake2b(f"{kind}{n}".encode(), digest_size=16).hexdigest()


def call_sid(n: int) -> str:
    return _hex("CA", "participant", n)


def conference_sid(n: int) -> str:
    return _hex("CF", "conference", n)


def sample_names(size: int, count: int, seed: int = 7) -> list[str]:
    """Resource names of `count` stored participants spread over the whole database."""
    rng = random.Random(seed)
    names = []
    for _ in range(count):
        n = rng.randrange(size)
        conference = conference_sid(n // PER_CONFERENCE)
        names.append(f"accounts/{ACCOUNT_SID}/conferences/{conference}/participants/{call_sid(n)}")
    return names


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _templates() -> tuple[dict[str, Any], dict[str, Any]]:
    conference = Conference(
        sid="",
        account_sid=ACCOUNT_SID,
        friendly_name="",
        status=ConferenceStatus.COMPLETED,
        revision=0,
        max_participants=250,
        date_created=_EPOCH,
        date_updated=_EPOCH,
        end_reason=EndReason.LAST_PARTICIPANT_LEFT,
    ).to_dict()
    participant = Participant(
        call_sid="",
        account_sid=ACCOUNT_SID,
        conference_sid="",
        conference_friendly_name="",
        label=None,
        status=ParticipantStatus.COMPLETE,
        call_status=CallStatus.COMPLETED,
        from_endpoint=FROM,
        to_endpoint=RING_LONG,
        date_created=_EPOCH,
        date_updated=_EPOCH,
        revision=0,
        timeout=60,
        answered_at=_EPOCH,
        ended_at=_EPOCH,
        leave_reason=LeaveReason.PARTICIPANT_HUNG_UP,
    ).to_dict()
    participant.pop("seq")
    # Enum members serialise as their values; make the templates plain JSON values.
    return json.loads(_dumps(conference)), json.loads(_dumps(participant))


def _apply_migrations(conn: sqlite3.Connection) -> None:
    """What SqliteStore._migrate does on a new file, synchronously."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    for version, name, sql in migrations():
        conn.execute("BEGIN IMMEDIATE")
        for statement in statements(sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, time.time()),
        )
        conn.execute("COMMIT")


def build(path: Path, size: int) -> None:
    """Write a database of `size` stored participants to `path` (replacing it)."""
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    _apply_migrations(conn)
    conference_t, participant_t = _templates()
    conferences = (size + PER_CONFERENCE - 1) // PER_CONFERENCE
    seq = 0
    for first in range(0, conferences, _CHUNK_CONFERENCES):
        conf_rows, part_rows, event_rows, cursor_rows = [], [], [], []
        for c in range(first, min(conferences, first + _CHUNK_CONFERENCES)):
            sid = conference_sid(c)
            members = range(c * PER_CONFERENCE, min(size, (c + 1) * PER_CONFERENCE))
            t0 = _EPOCH + c * 60.0
            conference = dict(conference_t, sid=sid, friendly_name=f"growth-{c}")
            conference.update(date_created=t0)
            for j, n in enumerate(members):
                seq += 1
                revision = j + 1
                at = t0 + j
                participant = dict(participant_t)
                participant.update(
                    call_sid=call_sid(n),
                    conference_sid=sid,
                    conference_friendly_name=conference["friendly_name"],
                    label=f"agent-{j}",
                    date_created=at,
                    date_updated=at,
                    answered_at=at,
                    ended_at=at,
                    revision=revision,
                )
                data = _dumps(participant)
                part_rows.append(
                    (seq, participant["call_sid"], ACCOUNT_SID, sid, participant["label"],
                     0, 0, 0, 0, revision, data)
                )  # fmt: skip
                participant["seq"] = seq
                conference.update(revision=revision, date_updated=at)
                event = {
                    "conference_sid": sid,
                    "account_sid": ACCOUNT_SID,
                    "revision": revision,
                    "time": at,
                    "type": EventType.PARTICIPANT_LEFT.value,
                    "conference": copy.copy(conference),
                    "participant": participant,
                }
                event_rows.append(
                    (sid, revision, ACCOUNT_SID, at, event["type"], participant["call_sid"],
                     _dumps(event))
                )  # fmt: skip
            revision = len(members) + 1
            conference.update(revision=revision)
            end = {
                "conference_sid": sid,
                "account_sid": ACCOUNT_SID,
                "revision": revision,
                "time": conference["date_updated"],
                "type": EventType.CONFERENCE_ENDED.value,
                "conference": conference,
                "participant": None,
            }
            event_rows.append(
                (sid, revision, ACCOUNT_SID, end["time"], end["type"], None, _dumps(end))
            )
            conf_rows.append(
                (sid, ACCOUNT_SID, conference["friendly_name"], "completed", revision,
                 _dumps(conference))
            )  # fmt: skip
            cursor_rows.append((sid, ACCOUNT_SID, revision, 0, 1))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO conferences VALUES (?, ?, ?, ?, ?, ?)", conf_rows)
        conn.executemany(
            "INSERT INTO participants (seq, call_sid, account_sid, conference_sid, label, active,"
            " muted, hold, coaching, revision, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            part_rows,
        )
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", event_rows)
        conn.executemany("INSERT INTO webhook_cursors VALUES (?, ?, ?, ?, ?)", cursor_rows)
        conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    partial.replace(path)


def cached(cache_dir: Path, size: int) -> tuple[Path, float | None]:
    """The cached database of `size` participants, and its build seconds (None: was cached)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"growth-{schema_key()}-{size}.sqlite3"
    if path.exists():
        return path, None
    for stale in cache_dir.glob(f"growth-*-{size}.sqlite3"):
        stale.unlink()
    started = time.monotonic()
    build(path, size)
    return path, time.monotonic() - started


def working_copy(source: Path, dest: Path) -> Path:
    """A copy the server may write to, so the cached file stays pristine."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, dest)
    # Flush the copy (and any freshly built cache file) now: otherwise the
    # kernel writes them back during the run and every fsync of a measured
    # Create waits behind gigabytes of dirty pages.
    os.sync()
    return dest


SECTION = "cost growth"
CONCURRENCY = 16


def run_section(
    *,
    worker: LoadWorker,
    server_cpus: Sequence[int],
    budget: Budget,
    run_dir: Path,
    cache_dir: Path,
    log: Callable[[str], None],
) -> tuple[list[Figure], dict[int, dict[str, float]]]:
    """Create and Fetch at each size against the smallest; and each server's footprint."""
    sizes = budget.growth_sizes
    servers: dict[int, ServerProcess] = {}
    fetches: dict[int, list[bytes]] = {}
    footprint: dict[int, dict[str, float]] = {}
    try:
        for size in sizes:
            source, built = cached(cache_dir, size)
            how = f"built in {built:.0f} s" if built is not None else "cached"
            log(f"[{SECTION}] database of {size:,} stored participants: {how} ({source.name})")
            db = working_copy(source, run_dir / f"growth-{size}.sqlite3")
            server = rollcall_server(
                f"rollcall-{size}", db, cpus=server_cpus, log_path=run_dir / f"growth-{size}.log"
            )
            # The stored participants ended long ago: kept for ever here, or
            # the retention pass deletes the very ones the Fetch load asks for
            # (every Fetch NOT_FOUND once it has got through them).
            server.env.update(KEEP_STORED)
            servers[size] = server.start(timeout=300)
            fetches[size] = [
                pb.FetchParticipantRequest(name=name, include_ended=True).SerializeToString()
                for name in sample_names(size, 2000)
            ]
        results: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for round_no in range(1, budget.rounds + 1):
            for size in sizes:
                server = servers[size]
                for method in ("CreateParticipant", "FetchParticipant"):
                    spec = spec_for(
                        server.target,
                        method,
                        server_pid=server.pid,
                        concurrency=CONCURRENCY,
                        duration=budget.duration,
                        warmup=budget.warmup,
                        requests=fetches[size] if method == "FetchParticipant" else None,
                    )
                    result = worker.run(spec)
                    results.setdefault((method, size), []).append(result)
                    log(
                        f"[{SECTION}] round {round_no}/{budget.rounds} {size:>9,} stored"
                        f" {method:<18} {result['rps']:8,.0f} req/s"
                        + (f"  errors {result['errors']}" if result["errors"] else "")
                    )
        for size in sizes:
            footprint[size] = {
                "rss": float(rss_bytes(servers[size].pid)),
                "disk": float(
                    sum(
                        Path(str(run_dir / f"growth-{size}.sqlite3") + suffix).stat().st_size
                        for suffix in ("", "-wal")
                        if Path(str(run_dir / f"growth-{size}.sqlite3") + suffix).exists()
                    )
                ),
            }
    finally:
        for server in servers.values():
            server.stop()
    smallest = sizes[0]
    label = f"Rollcall itself with {smallest:,} participants stored"
    figures: list[Figure] = []
    for method, word in (("CreateParticipant", "Create"), ("FetchParticipant", "Fetch")):
        for size in sizes[1:]:
            goal = Goal(">=", 0.77) if size >= 1_000_000 else REPORTED
            note = ""
            if size == sizes[-1] and size < 1_000_000:
                note = "the goal is judged at 1M stored participants: run with --full"
            errors = sum(sum(r["errors"].values()) for r in results[(method, size)])
            if errors:
                note += f"; ERRORS {errors}"
            figures.append(
                Figure(
                    SECTION,
                    f"{word} c={CONCURRENCY} req/s, {size:,} stored",
                    "req/s",
                    label,
                    [r["rps"] for r in results[(method, size)]],
                    [r["rps"] for r in results[(method, smallest)]],
                    goal,
                    note,
                )
            )
    return figures, footprint
