"""`rollcall conferences list|fetch|end|announce`: the account's conferences.

Rule 1: each command is one AsyncRollcallClient call (clients.conferences);
        output follows the participant commands: a table for a listing,
        `key: value` lines for one conference, protobuf JSON with --json.
Rule 2: a conference is named by its SID (CF...) or the friendly name of an
        active one, as every command that takes CONFERENCE.
Rule 3: exit codes as for every command (clients.cli_errors).
"""

from __future__ import annotations

import argparse

from clients.cli_connection import Action, connection_options, runner
from clients.cli_participants import CONFERENCE_HELP
from clients.client import AsyncRollcallClient
from clients.output import conference_text, conferences_json, conferences_table, message_json
from clients.words import enum_words
from rollcall.v1 import enums_pb2, participant_pb2

__all__ = ["add_conferences"]


def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _one(conference: participant_pb2.Conference, args: argparse.Namespace) -> str:
    return message_json(conference) if _json(args) else conference_text(conference)


async def _list(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    filters = {"friendly_name": args.friendly_name, "status": args.status}
    if args.all:
        conferences = [
            c async for c in client.iter_conferences(**filters, page_size=args.page_size)
        ]
        return conferences_json(conferences) if _json(args) else conferences_table(conferences)
    page = await client.list_conferences(
        **filters, page_size=args.page_size, page_token=args.page_token
    )
    if _json(args):
        return message_json(page)
    table = conferences_table(page.conferences)
    if page.next_page_token:
        return f"{table}\n\nnext page: --page-token {page.next_page_token}"
    return table


async def _fetch(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    return _one(await client.fetch_conference(args.conference), args)


async def _end(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    return _one(await client.end_conference(args.conference), args)


async def _announce(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    conference = await client.announce_conference(
        args.conference, args.url, announce_method=args.method
    )
    return _one(conference, args)


def add_conferences(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = connection_options()
    conferences = commands.add_parser(
        "conferences",
        parents=[common],
        help="list, fetch, end and announce into the account's conferences",
        description="The account's conferences through the gRPC API.",
    )
    actions = conferences.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, run: Action, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        if name != "list":
            parser.add_argument("conference", metavar="CONFERENCE", help=CONFERENCE_HELP)
        parser.set_defaults(handler=runner(run), parser=parser)
        return parser

    listing = action("list", _list, "list the account's conferences, newest first")
    listing.add_argument("--friendly-name", metavar="NAME", help="only conferences of this name")
    statuses = ", ".join(enum_words(participant_pb2.ConferenceStatus.DESCRIPTOR))
    listing.add_argument("--status", metavar="STATUS", help=f"only this status ({statuses})")
    listing.add_argument(
        "--page-size", type=int, metavar="N", help="conferences per page (1-1000, default 50)"
    )
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument(
        "--page-token", metavar="TOKEN", help="the page a previous listing pointed to"
    )
    pages.add_argument("--all", action="store_true", help="every page")

    action("fetch", _fetch, "show one conference")
    action("end", _end, "end a conference: every participant is removed")
    announce = action("announce", _announce, "play audio or TwiML to the whole conference")
    announce.add_argument("--url", required=True, metavar="URL", help="audio or TwiML URL")
    methods = ", ".join(enum_words(enums_pb2.HttpMethod.DESCRIPTOR))
    announce.add_argument("--method", metavar="METHOD", help=f"HTTP method for --url ({methods})")
