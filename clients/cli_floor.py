"""`rollcall watch --all` and `rollcall floor`: every conference of the account, live.

Rule 1: both are AsyncRollcallClient.watch_account and nothing more: `watch
--all` prints each item the moment it arrives, readable or as one JSON object
per line with a "kind" key (as `rollcall watch`); `floor` folds the items
into a FloorState and shows it as a table, one line per participant.
Rule 2: on a terminal, `floor` redraws the table in place (after every item,
and every second for the time columns); anywhere else it prints the table
once the snapshot is complete, then one plain line per change, and never an
escape sequence.
Rule 3: like `rollcall watch`, they run until Ctrl-C (exit 130, quietly) or
until the service refuses (exit 1, 3 or 4: clients.cli_errors); a lost stream
is resumed by the client and says so once on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from clients.cli_errors import report
from clients.cli_participants import Connection, UsageError, connection_options, resolve_connection
from clients.client import AsyncRollcallClient
from clients.errors import RollcallClientError
from clients.floor import (
    AccountEvent,
    AccountItem,
    AccountProgress,
    ConferenceSnapshot,
    FloorState,
    SnapshotComplete,
)
from clients.interrupt import run_interruptibly
from clients.output import _as_dict, _conference_summary, _participant_summary
from clients.watch_items import Reconnected
from clients.words import enum_word
from rollcall.v1 import participant_pb2

__all__ = ["account_json", "account_text", "add_floor", "floor_lines", "run_account", "watch_all"]

_HOME_AND_CLEAR = "\x1b[H\x1b[2J"
_COLUMNS = ("CONFERENCE", "PARTICIPANT", "STATUS", "MUTED", "HOLD", "COACHING", "FOR")


def account_text(item: AccountItem) -> str:
    """One readable line per item of an account watch."""
    match item:
        case ConferenceSnapshot(conference=conference, participants=people):
            return (
                f"{conference.friendly_name} r{conference.revision} snapshot"
                f" {_conference_summary(conference)} participants={len(people)}"
            )
        case SnapshotComplete(conferences=count):
            return f"-- snapshot complete: {count} conferences"
        case AccountEvent(event=event):
            subject = (
                _participant_summary(event.participant)
                if event.HasField("participant") and event.participant.call_sid
                else _conference_summary(event.conference)
            )
            return (
                f"{event.conference.friendly_name} r{event.revision}"
                f" {event.time.ToJsonString()} {item.word} {subject}"
            )
        case AccountProgress():
            return "-- progress"
        case Reconnected(kind="resumed", error=error):
            return f"-- reconnected: resumed ({error.code} {error.reason})"
        case Reconnected(error=error):
            return (
                f"-- reconnected: state dropped, new snapshot follows ({error.code} {error.reason})"
            )
    raise TypeError(f"not an account watch item: {item!r}")


def account_json(item: AccountItem) -> str:
    """One JSON object on one line: {"kind": "event", "event": {...}, "cursor": "..."}."""
    if isinstance(item, Reconnected):
        document: dict[str, object] = {
            "kind": item.kind,
            "attempts": item.attempts,
            "error": {"code": item.error.code, "reason": item.error.reason},
        }
    else:
        document = {"kind": item.raw.WhichOneof("item"), **_as_dict(item.raw)}
    return json.dumps(document, separators=(",", ":"))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _row(
    conference: participant_pb2.Conference, p: participant_pb2.Participant, since: float, now: float
) -> tuple[str, ...]:
    yes = {True: "yes", False: "-"}
    return (
        conference.friendly_name,
        p.label or p.to_endpoint,
        enum_word(participant_pb2.ParticipantStatus.DESCRIPTOR, p.status),
        yes[p.muted],
        yes[p.hold],
        yes[p.coaching],
        _duration(now - since),
    )


def floor_rows(state: FloorState, now: float) -> list[tuple[str, ...]]:
    """One row per participant (one per conference without any), by conference name."""
    rows: list[tuple[str, ...]] = []
    for sid, conference in sorted(state.conferences.items(), key=lambda c: c[1].friendly_name):
        people = state.participants.get(sid, {})
        if not people:
            rows.append((conference.friendly_name, "-", "-", "-", "-", "-", "-"))
        for p in sorted(people.values(), key=lambda p: (p.label or p.to_endpoint, p.call_sid)):
            rows.append(_row(conference, p, state.since.get(p.call_sid, now), now))
    return rows


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_COLUMNS, *rows]
    )


def floor_lines(state: FloorState, item: AccountItem, now: float) -> list[str]:
    """What `floor` prints for one item when stdout is not a terminal (Rule 2)."""
    match item:
        case SnapshotComplete():
            return [_table(floor_rows(state, now))]
        case AccountEvent(event=event):
            name = event.conference.friendly_name
            p = event.participant
            if not (event.HasField("participant") and p.call_sid):
                return [f"{name} {item.word}"]
            conference = state.conferences.get(event.conference.conference_sid, event.conference)
            row = _row(conference, p, state.since.get(p.call_sid, now), now)
            return [f"{item.word}  " + "  ".join(row)]
        case Reconnected():
            return [account_text(item)]
    return []


def _client(connection: Connection, args: argparse.Namespace) -> AsyncRollcallClient:
    return connection.client(
        keepalive=args.keepalive,
        keepalive_timeout=args.keepalive_timeout,
    )


async def watch_all(connection: Connection, args: argparse.Namespace, out: TextIO) -> None:
    """`rollcall watch --all`: one line per item."""
    as_json = bool(getattr(args, "json", False))
    async with _client(connection, args) as client:
        items = client.watch_account(
            friendly_name_prefix=args.prefix,
            event_types=args.types,
            participant_labels=args.labels,
            reconnect=args.reconnect,
            max_backoff=args.max_backoff,
            idle_timeout=args.idle_timeout,
        )
        try:
            async for item in items:
                print(account_json(item) if as_json else account_text(item), file=out, flush=True)
        finally:
            await items.aclose()


async def show_floor(
    connection: Connection,
    args: argparse.Namespace,
    out: TextIO,
    clock: Callable[[], float] = time.time,
) -> None:
    """`rollcall floor`: the table, redrawn in place on a terminal (Rule 2)."""
    state = FloorState()
    terminal = out.isatty()

    def draw() -> None:
        if state.ready:
            out.write(_HOME_AND_CLEAR + _table(floor_rows(state, clock())) + "\n")
            out.flush()

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            draw()

    async with _client(connection, args) as client:
        items = client.watch_account(
            friendly_name_prefix=args.prefix,
            participant_labels=args.labels,
            reconnect=args.reconnect,
            max_backoff=args.max_backoff,
            idle_timeout=args.idle_timeout,
        )
        ticking = asyncio.create_task(tick()) if terminal else None
        try:
            async for item in items:
                state.apply(item)
                if terminal:
                    draw()
                else:
                    for line in floor_lines(state, item, clock()):
                        print(line, file=out, flush=True)
        finally:
            if ticking is not None:
                ticking.cancel()
            await items.aclose()


def run_account(
    work: Callable[[Connection, argparse.Namespace, TextIO], object],
    args: argparse.Namespace,
    environ: Mapping[str, str],
) -> int:
    connection = resolve_connection(args, environ)
    try:
        run_interruptibly(work(connection, args, sys.stdout))  # type: ignore[arg-type]
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        return 130
    return 0


def add_floor(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    stream_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    floor = commands.add_parser(
        "floor",
        parents=[connection_options()],
        help="a live table of every conference's participants",
        description="Show every live conference of the account and its participants, one "
        "line each (conference, label or number, status, muted, on hold, coaching, time in "
        "the current state), redrawn in place as they change. When stdout is not a terminal, "
        "print the table once, then one line per change.",
    )
    floor.add_argument("--prefix", default="", help="only conferences whose name starts so")
    floor.add_argument(
        "--label", dest="labels", action="append", default=[], help="only this label; repeatable"
    )
    stream_options(floor)
    floor.set_defaults(
        handler=lambda args, environ: run_account(show_floor, args, environ), parser=floor
    )
