"""`rollcall participants update-many`: mute, unmute, hold or unhold many participants.

Rule 1: one AsyncRollcallClient.update_participants call, so one change of one
        conference; the flags are its keyword arguments (the same --muted/--unmuted,
        --hold/--unhold pairs as `participants update`).
Rule 2: the answer is one row per participant (KEY, CALL SID, CHANGED, MUTED,
        HOLD, ERROR), or the response as protobuf JSON with --json.
Rule 3: a refusal of the whole request is one error line (clients.cli_errors);
        when the service answered but refused some participants, the others
        were changed, the answer is printed, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping

from clients.cli_connection import Connection, resolve_connection
from clients.cli_errors import EXIT_FAILED, EXIT_OK, report
from clients.errors import RollcallClientError
from clients.output import message_json
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["add_update_many", "outcomes_table"]

_HEADINGS = ("KEY", "CALL SID", "CHANGED", "MUTED", "HOLD", "ERROR")


def _error_text(outcome: pb.ParticipantOutcome) -> str:
    if not outcome.error_reason:
        return "-"
    label = outcome.error_reason
    if outcome.twilio_code:
        label += f", twilio {outcome.twilio_code}"
    return f"{label}: {outcome.error_message}"


def outcomes_table(answer: pb.UpdateParticipantsResponse) -> str:
    """Rule 2: one row per participant, columns separated by two spaces."""
    rows = [list(_HEADINGS)]
    for o in answer.outcomes:
        found = o.HasField("participant")
        p = o.participant

        def flag(value: bool, found: bool = found) -> str:
            return ("true" if value else "false") if found else "-"

        rows.append(
            [
                o.key,
                p.call_sid if found else "-",
                "true" if o.changed else "false",
                flag(p.muted),
                flag(p.hold),
                _error_text(o),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADINGS) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


async def _call(connection: Connection, args: argparse.Namespace) -> pb.UpdateParticipantsResponse:
    async with connection.client() as client:
        return await client.update_participants(
            args.conference,
            args.participants,
            all_except=args.all_except,
            muted=args.muted,
            hold=args.hold,
        )


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    connection = resolve_connection(args, environ)
    try:
        answer = asyncio.run(_call(connection, args))
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    print(message_json(answer) if getattr(args, "json", False) else outcomes_table(answer))
    refused = any(o.error_reason for o in answer.outcomes)
    return EXIT_FAILED if refused else EXIT_OK


def add_update_many(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    text = (
        "mute, unmute, hold or unhold the participants named (or, with --except,"
        " every other one) in one change"
    )
    parser = actions.add_parser("update-many", parents=[common], help=text, description=text)
    parser.add_argument(
        "conference",
        metavar="CONFERENCE",
        help="conference SID (CF...) or the friendly name of an active conference",
    )
    parser.add_argument(
        "participants", metavar="PARTICIPANT", nargs="*", help="call SID (CA...) or label"
    )
    parser.add_argument(
        "--except",
        dest="all_except",
        action="store_true",
        help="every active participant except those named",
    )
    for on, off, dest in (("--muted", "--unmuted", "muted"), ("--hold", "--unhold", "hold")):
        pair = parser.add_mutually_exclusive_group()
        pair.add_argument(on, dest=dest, action="store_const", const=True, help=f"set {dest}")
        pair.add_argument(off, dest=dest, action="store_const", const=False, help=f"clear {dest}")
    parser.set_defaults(handler=_run, parser=parser)
