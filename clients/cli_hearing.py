"""The `rollcall hearing` command: who hears whom in a conference right now.

Rule 1: one ConferenceService.GetHearing call; the answer is the service's
        (derived from its record), printed one participant a line, or as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping

from google.protobuf import json_format

from clients.cli_connection import call_unary, connection_options, resolve_connection
from clients.cli_errors import report
from clients.errors import RollcallClientError
from rollcall.v1 import conference_service_pb2 as cpb

__all__ = ["add_hearing", "hearing_text"]

_METHOD = "/rollcall.v1.ConferenceService/GetHearing"


def hearing_text(answer: cpb.GetHearingResponse) -> str:
    if not answer.rows:
        return f"{answer.conference_sid} (revision {answer.revision}): no one in the audio"
    lines = [f"{answer.conference_sid} (revision {answer.revision})"]
    for row in answer.rows:
        hears = ", ".join(row.hears) or "no one"
        heard_by = ", ".join(row.heard_by) or "no one"
        lines.append(f"{row.call_sid}  hears {hears}; heard by {heard_by}")
    return "\n".join(lines)


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    connection = resolve_connection(args, environ)
    request = cpb.GetHearingRequest(
        name=f"accounts/{connection.account_sid}/conferences/{args.conference}"
    )
    try:
        answer = call_unary(connection, _METHOD, request, cpb.GetHearingResponse)
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    if getattr(args, "json", False):
        print(json.dumps(json_format.MessageToDict(answer, preserving_proto_field_name=True)))
    else:
        print(hearing_text(answer))
    return 0


def add_hearing(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "who hears whom in a conference right now (roles, mute, hold)"
    hearing = commands.add_parser(
        "hearing", parents=[connection_options()], help=text, description=text
    )
    hearing.add_argument("conference", metavar="CONFERENCE", help="conference SID or friendly name")
    hearing.set_defaults(handler=_run, parser=hearing)
