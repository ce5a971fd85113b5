"""`rollcall participants ACTION`: the client on the command line.

Rule 1: the actions are create, fetch, list, update, delete, move and update-many
        (clients.cli_bulk); each is one AsyncRollcallClient call; flags become the
        call's keyword arguments and nothing else (values are checked by
        clients.fields, as for any caller).
Rule 2: connection options may be given before or after the action and fall back
        to ROLLCALL_* (then TWILIO_*) variables.
Rule 3: errors and exit codes as for every command (clients.cli_errors): 0 done,
        1 refused, 2 usage, 3 not found, 4 the service unavailable.
"""

from __future__ import annotations

import argparse
from typing import cast

from google.protobuf.descriptor import EnumDescriptor

from clients.cli_arguments import attribute_pairs, create_arguments, update_arguments
from clients.cli_bulk import add_update_many
from clients.cli_connection import (
    CONNECTION_ENV,
    DEFAULT_TARGET,
    Action,
    Connection,
    UsageError,
    connection_options,
    resolve_connection,
    runner,
)
from clients.client import AsyncRollcallClient
from clients.fields import CreateFields, UpdateFields
from clients.output import (
    message_json,
    participant_text,
    participants_json,
    participants_table,
)
from clients.words import enum_words
from rollcall.v1 import enums_pb2

__all__ = [
    "CONNECTION_ENV",
    "DEFAULT_TARGET",
    "Connection",
    "UsageError",
    "add_participants",
    "connection_options",
    "create_arguments",
    "resolve_connection",
    "update_arguments",
]


CONFERENCE_HELP = "conference SID (CF...) or the friendly name of an active conference"
CREATE_CONFERENCE_HELP = (
    "conference SID (CF...) or friendly name: the active conference of that name is"
    " joined, or one is created"
)


def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


async def _create(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    values = create_arguments(args)
    participant = await client.create_participant(
        args.conference,
        from_endpoint=str(values.pop("from_endpoint")),
        to_endpoint=str(values.pop("to_endpoint")),
        request_id=cast(str | None, values.pop("request_id", None)),
        **cast(CreateFields, values),
    )
    return message_json(participant) if _json(args) else participant_text(participant)


async def _fetch(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    participant = await client.fetch_participant(
        args.conference, args.participant, include_ended=args.include_ended
    )
    return message_json(participant) if _json(args) else participant_text(participant)


async def _list(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    filters = {"muted": args.muted, "hold": args.hold, "coaching": args.coaching}
    attribute_pairs(args.attributes)  # each KEY=VALUE, or a usage error before any call
    attributes = args.attributes or ()
    if args.all:
        participants = [
            p
            async for p in client.iter_participants(
                args.conference,
                **filters,
                page_size=args.page_size,
                include_ended=args.include_ended,
                attributes=attributes,
            )
        ]
        return participants_json(participants) if _json(args) else participants_table(participants)
    page = await client.list_participants(
        args.conference,
        **filters,
        page_size=args.page_size,
        page_token=args.page_token,
        include_ended=args.include_ended,
        attributes=attributes,
    )
    if _json(args):
        return message_json(page)
    table = participants_table(page.participants)
    return (
        f"{table}\n\nnext page: --page-token {page.next_page_token}"
        if page.next_page_token
        else table
    )


async def _update(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    participant = await client.update_participant(
        args.conference,
        args.participant,
        etag=args.etag,
        **cast(UpdateFields, update_arguments(args)),
    )
    return message_json(participant) if _json(args) else participant_text(participant)


async def _delete(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    participant = await client.delete_participant(args.conference, args.participant, etag=args.etag)
    return message_json(participant) if _json(args) else participant_text(participant)


async def _move(client: AsyncRollcallClient, args: argparse.Namespace) -> str:
    moved = await client.move_participant(
        args.conference,
        args.participant,
        args.destination,
        muted=args.muted,
        hold=args.hold,
        role=args.role,
        whisper_targets=args.whisper_targets or (),
        etag=args.etag,
    )
    if _json(args):
        return message_json(moved)
    return f"moved ({moved.move_id})\n" + participant_text(moved.participant)


def _words(enum: EnumDescriptor) -> str:
    return ", ".join(enum_words(enum))


def add_participants(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = connection_options()
    participants = commands.add_parser(
        "participants",
        parents=[common],
        help="create, fetch, list, update, delete and move conference participants",
        description="Manage conference participants through the gRPC API.",
    )
    actions = participants.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, run: Action, help_text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, parents=[common], help=help_text, description=help_text)
        parser.add_argument(
            "conference",
            metavar="CONFERENCE",
            help=CREATE_CONFERENCE_HELP if name == "create" else CONFERENCE_HELP,
        )
        if name != "create" and name != "list":
            parser.add_argument(
                "participant", metavar="PARTICIPANT", help="call SID (CA...) or label"
            )
        parser.set_defaults(handler=runner(run), parser=parser)
        return parser

    create = action(
        "create",
        _create,
        "dial a participant into a conference (created by friendly name if needed)",
    )
    create.add_argument(
        "--from",
        dest="from_endpoint",
        required=True,
        metavar="FROM",
        help="caller ID: E.164 number, client:NAME or sip: address",
    )
    create.add_argument(
        "--to",
        dest="to_endpoint",
        required=True,
        metavar="TO",
        help="who to call: E.164 number, client:NAME or sip: address",
    )
    create.add_argument(
        "--label", help="a name for the participant, usable instead of its call SID"
    )
    create.add_argument("--muted", action=argparse.BooleanOptionalAction, help="join muted")
    create.add_argument(
        "--timeout", type=int, metavar="SECONDS", help="seconds to ring (5-600, default 60)"
    )
    create.add_argument(
        "--request-id",
        metavar="ID",
        help="retry key: a repeat returns the first participant and never dials twice",
    )
    create.add_argument("--status-callback", metavar="URL", help="URL for call progress callbacks")
    create.add_argument(
        "--status-callback-event",
        action="append",
        metavar="EVENT",
        help=f"call progress to report ({_words(enums_pb2.CallEvent.DESCRIPTOR)}); repeatable",
    )
    create.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other create field, by proto or Twilio name "
        "(e.g. beep=onEnter, MaxParticipants=10, record=true); repeatable",
    )
    create.add_argument(
        "--attribute",
        dest="attributes",
        action="append",
        metavar="KEY=VALUE",
        help="an attribute KEY=VALUE (never sent to the carrier); repeatable",
    )

    fetch = action("fetch", _fetch, "show one participant")
    fetch.add_argument(
        "--include-ended", action="store_true", help="also find participants whose call ended"
    )

    listing = action("list", _list, "list a conference's participants, oldest first")
    for name in ("muted", "hold", "coaching"):
        listing.add_argument(
            f"--{name}",
            action=argparse.BooleanOptionalAction,
            help=f"only participants with(out) {name}",
        )
    listing.add_argument(
        "--attribute",
        dest="attributes",
        action="append",
        metavar="KEY=VALUE",
        help="only participants with this attribute; repeatable (all must match)",
    )
    listing.add_argument(
        "--page-size", type=int, metavar="N", help="participants per page (1-1000, default 50)"
    )
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument(
        "--page-token", metavar="TOKEN", help="the page a previous listing pointed to"
    )
    pages.add_argument("--all", action="store_true", help="every page")
    listing.add_argument(
        "--include-ended", action="store_true", help="also list participants whose call ended"
    )

    update = action("update", _update, "change a participant; what is not given stays as it is")
    for on, off, dest in (("--muted", "--unmuted", "muted"), ("--hold", "--unhold", "hold")):
        pair = update.add_mutually_exclusive_group()
        pair.add_argument(on, dest=dest, action="store_const", const=True, help=f"set {dest}")
        pair.add_argument(off, dest=dest, action="store_const", const=False, help=f"clear {dest}")
    update.add_argument(
        "--coaching", action=argparse.BooleanOptionalAction, help="coach call-sid-to-coach"
    )
    update.add_argument("--call-sid-to-coach", metavar="CA...", help="the participant to coach")
    roles = _words(enums_pb2.ParticipantRole.DESCRIPTOR)
    update.add_argument("--role", metavar="ROLE", help=f"supervisor role ({roles})")
    update.add_argument(
        "--whisper-to",
        dest="whisper_targets",
        metavar="CA...",
        action="append",
        help="with --role whisper: a call SID it whispers to; repeatable",
    )
    methods = _words(enums_pb2.HttpMethod.DESCRIPTOR)
    for url in ("hold", "announce", "wait"):
        update.add_argument(f"--{url}-url", metavar="URL", help=f"{url} audio or TwiML URL")
        update.add_argument(
            f"--{url}-method", metavar="METHOD", help=f"HTTP method for --{url}-url ({methods})"
        )
    update.add_argument(
        "--beep-on-exit", action=argparse.BooleanOptionalAction, help="beep when leaving"
    )
    update.add_argument(
        "--end-conference-on-exit",
        action=argparse.BooleanOptionalAction,
        help="end the conference when this participant leaves",
    )
    update.add_argument(
        "--attribute",
        dest="attributes",
        action="append",
        metavar="KEY=VALUE",
        help="set an attribute (an empty VALUE removes it); repeatable",
    )
    update.add_argument(
        "--replace-attributes",
        action="store_const",
        const=True,
        help="replace all attributes with the --attribute ones (none: remove them all)",
    )
    update.add_argument("--etag", help="apply only if the participant still has this etag")

    delete = action(
        "delete", _delete, "remove a participant (its call ends) and show its final state"
    )
    delete.add_argument("--etag", help="delete only if the participant still has this etag")

    move = action(
        "move",
        _move,
        "move a participant, its call up, to another conference (joined, or created)",
    )
    move.add_argument("destination", metavar="DESTINATION", help="conference SID or friendly name")
    move.add_argument("--muted", action="store_true", help="muted there")
    move.add_argument("--hold", action="store_true", help="on hold there")
    move.add_argument("--role", metavar="ROLE", help=f"supervisor role there ({roles})")
    move.add_argument(
        "--whisper-to",
        dest="whisper_targets",
        metavar="CA...",
        action="append",
        help="with --role whisper: a call SID there it whispers to; repeatable",
    )
    move.add_argument("--etag", help="move only if the participant still has this etag")

    add_update_many(actions, common)
