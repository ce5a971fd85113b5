"""`rollcall audit` and `rollcall numbers lookup|erase`: AuditService's three RPCs.

Rule 1: each acts for the account the connection options name; an account
        only ever sees and erases its own data.
Rule 2: `audit` prints every page of the account's changes, newest first (at
        most --limit), one line each or one JSON document, filtered by time
        range (--since, --until: RFC 3339), actor (--actor SID, --actor-kind),
        resource, conference and event type.
Rule 3: a number is read from the argument, or from standard input when the
        argument is `-` (so it stays out of shell history and process lists);
        it is never printed.
Rule 4: errors and exit codes as for every command (clients.cli_errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format

from clients.cli_connection import (
    Connection,
    call_unary,
    connection_options,
    resolve_connection,
)
from clients.cli_errors import report
from clients.errors import RollcallClientError
from clients.words import enum_number, enum_word
from rollcall.v1 import audit_service_pb2 as pb
from rollcall.v1 import participant_service_pb2 as ppb

__all__ = ["add_audit"]

_SERVICE = "/rollcall.v1.AuditService/"


def _call(connection: Connection, method: str, request: Any, response: Any) -> Any:
    return call_unary(connection, _SERVICE + method, request, response)


def _as_dict(message: Any) -> dict[str, object]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def record_text(r: pb.AuditRecord) -> str:
    when = r.time.ToJsonString()
    a = r.actor
    who = enum_word(ppb.ActorKind.DESCRIPTOR, a.kind) or "unknown"
    if a.sid:
        who += f" {a.sid}"
    if a.rule:
        who += f" rule={a.rule}"
    where = " ".join(
        part
        for part in (
            a.face,
            a.peer_address and f"from {a.peer_address}",
            a.forwarded_for and f"for {a.forwarded_for}",
            a.request_id and f"request {a.request_id}",
        )
        if part
    )
    about = f"{r.conference_sid} rev {r.revision}" if r.conference_sid else r.resource
    detail = f"  ({r.detail})" if r.detail else ""
    return f"{when}  {r.event_type}  {r.resource}  {about}  by {who}  {where}{detail}".rstrip()


def list_records(
    connection: Connection, template: pb.ListAuditRecordsRequest, limit: int
) -> list[pb.AuditRecord]:
    found: list[pb.AuditRecord] = []
    request = pb.ListAuditRecordsRequest()
    request.CopyFrom(template)
    request.parent = f"accounts/{connection.account_sid}"
    while len(found) < limit:
        request.page_size = min(1000, limit - len(found))
        page = _call(connection, "ListAuditRecords", request, pb.ListAuditRecordsResponse)
        found.extend(page.audit_records)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    return found


def _request(args: argparse.Namespace) -> pb.ListAuditRecordsRequest:
    request = pb.ListAuditRecordsRequest(
        actor_sid=args.actor,
        resource=args.resource,
        conference_sid=args.conference,
        event_type=args.type,
    )
    try:
        if args.since:
            request.start_time.FromJsonString(args.since)
        if args.until:
            request.end_time.FromJsonString(args.until)
    except ValueError:
        raise SystemExit("--since and --until take RFC 3339 times (2026-01-02T03:04:05Z)") from None
    if args.actor_kind:
        try:
            kind = enum_number(ppb.ActorKind.DESCRIPTOR, args.actor_kind)
        except ValueError as exc:
            raise SystemExit(f"--actor-kind: {exc}") from None
        request.actor_kind = kind  # type: ignore[assignment]
    return request


def _number(args: argparse.Namespace) -> str:
    return sys.stdin.readline().strip() if args.number == "-" else str(args.number)


def _run_audit(args: argparse.Namespace, connection: Connection) -> str:
    records = list_records(connection, _request(args), args.limit)
    if getattr(args, "json", False):
        return json.dumps({"audit_records": [_as_dict(r) for r in records]}, indent=2)
    return "\n".join(record_text(r) for r in records) if records else "no audit records"


def _holder_text(h: pb.NumberHolder) -> str:
    state = "live" if h.live else "ended"
    return (
        f"{h.conference_sid}  {h.call_sid}  {state}  events {h.events}"
        f"  dead letters {h.dead_letters}"
    )


def _run_numbers(args: argparse.Namespace, connection: Connection) -> str:
    parent = f"accounts/{connection.account_sid}"
    if args.action == "lookup":
        found = _call(
            connection,
            "LookupNumber",
            pb.LookupNumberRequest(parent=parent, number=_number(args)),
            pb.LookupNumberResponse,
        )
        if getattr(args, "json", False):
            return json.dumps(_as_dict(found), indent=2)
        return "\n".join(_holder_text(h) for h in found.holders) or "not found"
    erased = _call(
        connection,
        "EraseNumber",
        pb.EraseNumberRequest(
            parent=parent, number=_number(args), end_live_calls=args.end_live_calls
        ),
        pb.EraseNumberResponse,
    )
    if getattr(args, "json", False):
        return json.dumps(_as_dict(erased), indent=2)
    lines = [_holder_text(h) for h in erased.erased]
    lines.append(f"erased {len(erased.erased)} participant(s), ended {erased.ended} call(s)")
    return "\n".join(lines)


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    connection = resolve_connection(args, environ)
    run = _run_audit if args.command == "audit" else _run_numbers
    try:
        output = run(args, connection)
    except RollcallClientError as exc:
        return report(exc, args, connection.target, connection.secure)
    print(output)
    return 0


def add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = connection_options()
    audit = commands.add_parser(
        "audit",
        parents=[common],
        help="who changed what: the account's audit trail, newest first",
        description="The account's changes, newest first: who made each (an account or"
        " API key, the carrier, or a rule of Rollcall's), from where, through which face.",
    )
    for flag, meta, text in (
        ("--since", "TIME", "only changes at or after this RFC 3339 time"),
        ("--until", "TIME", "only changes before this RFC 3339 time"),
        ("--actor", "SID", "only changes by this account or API key SID"),
        ("--actor-kind", "KIND", "only changes by account, api-key, carrier or rollcall"),
        ("--resource", "SID", "only changes to this call SID (or conference SID)"),
        ("--conference", "CF...", "only changes in this conference"),
        ("--type", "WORD", "only this event type (participant-leave, conference-end, ...)"),
    ):
        audit.add_argument(flag, metavar=meta, default="", help=text)
    audit.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    audit.set_defaults(handler=_run, parser=audit)
    numbers = commands.add_parser(
        "numbers",
        parents=[common],
        help="look up or erase a phone number's personal data",
        description="Find what of the account holds a phone number (or SIP or client"
        " address), or erase it: redacted in place, keeping every SID and revision.",
    )
    actions = numbers.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("lookup", "the participants holding the number, and their stored copies"),
        ("erase", "redact the number's participants now (live calls refused)"),
    ):
        parser = actions.add_parser(name, parents=[common], help=text, description=text)
        parser.add_argument("number", metavar="NUMBER", help="the number, or - to read stdin")
        if name == "erase":
            parser.add_argument(
                "--end-live-calls",
                action="store_true",
                help="end the participants still in a call first, instead of refusing",
            )
        parser.set_defaults(handler=_run, parser=parser)
