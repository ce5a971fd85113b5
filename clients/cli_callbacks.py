"""`rollcall callbacks dead-letters list|redeliver`: CallbackService's two RPCs, nothing more.

Rule 1: both act for the account the connection options name (an account only
        ever sees its own dead letters), for one conference with --conference.
Rule 2: `list` prints every page, in the service's order (oldest first), one line
        per dead letter or one JSON document; `redeliver` asks the service to send
        them again in that order and prints how many were accepted and how many
        are still kept.
Rule 3: errors and exit codes as for every command (clients.cli_errors).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import json_format

from clients.cli_errors import report
from clients.cli_participants import Connection, connection_options, resolve_connection
from clients.client import basic_credentials
from clients.errors import RollcallClientError
from rollcall.v1 import callback_service_pb2 as pb

__all__ = ["add_callbacks"]

_SERVICE = "/rollcall.v1.CallbackService/"


def _channel(connection: Connection) -> grpc.Channel:
    if connection.tls.enabled:
        return grpc.secure_channel(
            connection.target, connection.tls.credentials(), options=connection.tls.options()
        )
    return grpc.insecure_channel(connection.target)


def _call(connection: Connection, method: str, request: Any, response: Any) -> Any:
    metadata = (("authorization", basic_credentials(connection.username, connection.password)),)
    with _channel(connection) as channel:
        stub = channel.unary_unary(_SERVICE + method)
        try:
            data = stub(request.SerializeToString(), metadata=metadata, timeout=300)
        except grpc.RpcError as exc:
            raise RollcallClientError.from_rpc_error(exc) from exc
    return response.FromString(data)


def _letter_text(letter: pb.DeadLetter) -> str:
    when = letter.given_up_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
    about = letter.call_sid or "-"
    return (
        f"{letter.id}  {letter.conference_sid} rev {letter.revision}  {letter.kind}"
        f" {letter.callback_event} {about}  {letter.method} {letter.url}"
        f"  attempts {letter.attempts} ({letter.last_outcome})  given up {when}"
    )


def _as_dict(message: Any) -> dict[str, object]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def list_dead_letters(connection: Connection, conference: str) -> list[pb.DeadLetter]:
    letters: list[pb.DeadLetter] = []
    token = ""
    for _ in range(1_000_000):
        page = _call(
            connection,
            "ListDeadLetters",
            pb.ListDeadLettersRequest(
                parent=f"accounts/{connection.account_sid}",
                conference_sid=conference,
                page_size=1000,
                page_token=token,
            ),
            pb.ListDeadLettersResponse,
        )
        letters.extend(page.dead_letters)
        token = page.next_page_token
        if not token:
            break
    return letters


def _run_list(args: argparse.Namespace, connection: Connection) -> str:
    letters = list_dead_letters(connection, args.conference)
    if getattr(args, "json", False):
        return json.dumps({"dead_letters": [_as_dict(x) for x in letters]}, indent=2)
    if not letters:
        return "no dead letters"
    return "\n".join(_letter_text(x) for x in letters)


def _run_redeliver(args: argparse.Namespace, connection: Connection) -> str:
    reply = _call(
        connection,
        "RedeliverDeadLetters",
        pb.RedeliverDeadLettersRequest(
            parent=f"accounts/{connection.account_sid}", conference_sid=args.conference
        ),
        pb.RedeliverDeadLettersResponse,
    )
    if getattr(args, "json", False):
        return json.dumps(_as_dict(reply), indent=2)
    return f"delivered {reply.delivered}, still kept {reply.remaining}"


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    connection = resolve_connection(args, environ)
    run = _run_list if args.action == "list" else _run_redeliver
    try:
        output = run(args, connection)
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    print(output)
    return 0


def add_callbacks(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = connection_options()
    callbacks = commands.add_parser(
        "callbacks",
        parents=[common],
        help="status callbacks: list and redeliver the ones given up on",
        description="Status callbacks given up on after their last retry (dead letters).",
    )
    kinds = callbacks.add_subparsers(dest="what", metavar="WHAT", required=True)
    dead = kinds.add_parser(
        "dead-letters",
        parents=[common],
        help="callbacks given up on after the last retry",
        description="Status callbacks given up on after their last retry, kept until "
        "redelivered or until event retention removes their event.",
    )
    actions = dead.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("list", "list the account's dead letters, oldest first"),
        ("redeliver", "send the account's dead letters again, oldest first"),
    ):
        parser = actions.add_parser(name, parents=[common], help=text, description=text)
        parser.add_argument(
            "--conference",
            metavar="CF...",
            default="",
            help="only this conference's dead letters (its SID)",
        )
        parser.set_defaults(handler=_run, parser=parser)
