"""`rollcall watch CONFERENCE` (or `--all`): follow a conference, or the account, live.

Rule 1: the command is AsyncRollcallClient.watch and nothing more; `--all` follows
        every conference of the account instead (see clients.cli_floor).
Rule 2: each item is printed (and flushed) the moment it arrives, one line per item,
        readable or as one JSON object per line (clients.output).
Rule 3: it runs until the conference ends (exit 0), the service refuses (exit 1, 3
        or 4: clients.cli_errors) or Ctrl-C (exit 130, quietly).
Rule 4: a broken or silent stream is resumed by the client, which says so once on
        stderr (`...; reconnecting`) and shows it as a `-- reconnected` line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from clients.cli_errors import report
from clients.cli_floor import add_floor, run_account, watch_all
from clients.cli_participants import (
    Connection,
    UsageError,
    connection_options,
    resolve_connection,
)
from clients.client import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_KEEPALIVE_TIMEOUT_SECONDS,
)
from clients.errors import RollcallClientError
from clients.interrupt import run_interruptibly
from clients.output import watch_json, watch_text
from clients.watch_items import event_type_number, event_type_words

__all__ = ["add_watch", "event_type_argument", "run_watch"]


def event_type_argument(text: str) -> int:
    """argparse type for --type: a Twilio word, a proto name or a number."""
    try:
        return event_type_number(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


async def watch_lines(connection: Connection, args: argparse.Namespace, out: TextIO) -> None:
    as_json = bool(getattr(args, "json", False))
    async with connection.client(
        keepalive=args.keepalive,
        keepalive_timeout=args.keepalive_timeout,
    ) as client:
        items = client.watch(
            args.conference,
            resume_after_revision=args.resume_after,
            event_types=args.types,
            participants=args.participants,
            reconnect=args.reconnect,
            max_backoff=args.max_backoff,
            idle_timeout=args.idle_timeout,
        )
        try:
            async for item in items:
                print(watch_json(item) if as_json else watch_text(item), file=out, flush=True)
        finally:
            await items.aclose()


def run_watch(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.all:
        if args.conference or args.resume_after is not None or args.participants:
            raise UsageError("--all watches every conference: give no CONFERENCE,"
                             " --resume-after or --participant (use --label)")  # fmt: skip
        return run_account(watch_all, args, environ)
    if not args.conference:
        raise UsageError("give a CONFERENCE, or --all for every conference")
    if args.prefix or args.labels:
        raise UsageError("--prefix and --label go with --all")
    connection = resolve_connection(args, environ)
    try:
        run_interruptibly(watch_lines(connection, args, sys.stdout))
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    except ValueError as exc:
        # Refused by the client before anything was sent.
        raise UsageError(str(exc)) from exc
    except KeyboardInterrupt:
        return 130
    return 0


def add_watch(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = commands.add_parser(
        "watch",
        parents=[connection_options()],
        help="follow a conference's participants and events live",
        description="Print a snapshot of the conference's participants, then every change "
        "as it happens, one line each, until the conference ends. With --resume-after, "
        "print every change after that revision instead of a snapshot. A lost or silent "
        "stream is resumed where it stopped (a `-- reconnected` line says so).",
    )
    watch.add_argument(
        "conference",
        metavar="CONFERENCE",
        nargs="?",
        help="conference SID (CF...) or the friendly name of an active conference",
    )
    watch.add_argument(
        "--all",
        action="store_true",
        help="every conference of the account: a snapshot of the live ones, then every"
        " event of each (resumed by cursor)",
    )
    watch.add_argument("--prefix", default="", help="with --all: only conferences named so")
    watch.add_argument(
        "--label",
        dest="labels",
        action="append",
        default=[],
        help="with --all: only participants with this label; repeatable",
    )
    watch.add_argument(
        "--resume-after",
        type=int,
        metavar="N",
        help="start after this revision instead of with a snapshot",
    )
    watch.add_argument(
        "--type",
        dest="types",
        action="append",
        default=[],
        type=event_type_argument,
        metavar="EVENT",
        help=f"only these events ({', '.join(event_type_words())}, or proto names); repeatable",
    )
    watch.add_argument(
        "--participant",
        dest="participants",
        action="append",
        default=[],
        metavar="CALLSID_OR_LABEL",
        help="only events about this participant; repeatable",
    )
    stream_options(watch)
    watch.set_defaults(handler=run_watch, parser=watch)
    add_floor(commands, stream_options)


def stream_options(parser: argparse.ArgumentParser) -> None:
    """Reconnecting and liveness options, shared by watch and floor."""
    parser.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="exit with the error instead of resuming a lost stream",
    )
    parser.add_argument(
        "--max-backoff",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="longest wait between reconnect attempts (default 5)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help="resume a stream that delivers nothing, not even a progress marker, for this"
        " long (default: three of the server's progress intervals, 30 s by default)",
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=DEFAULT_KEEPALIVE_SECONDS,
        metavar="SECONDS",
        help=f"seconds between pings to the server (default {DEFAULT_KEEPALIVE_SECONDS:g};"
        " 0: none); a dead connection is dropped and the stream resumed on a new one",
    )
    parser.add_argument(
        "--keepalive-timeout",
        type=float,
        default=DEFAULT_KEEPALIVE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="seconds a ping may go unanswered before the connection is dropped"
        f" (default {DEFAULT_KEEPALIVE_TIMEOUT_SECONDS:g})",
    )
