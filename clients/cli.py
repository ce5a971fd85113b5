"""The `rollcall` command: serve, gateway, and participants create|fetch|list|update|delete.

The rule it keeps: the CLI adds no behaviour of its own. `serve` has one flag
per field of service.config.Settings (help from SETTINGS_HELP; a value comes
from the flag, else its ROLLCALL_* variable, else the default, via from_env);
participant commands call AsyncRollcallClient and print with clients.output.
Exit codes: 0 done, 1 the service refused (RollcallClientError), 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import importlib.metadata
import os
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any, cast

from clients.client import AsyncRollcallClient
from clients.enums import enum_words
from clients.errors import RollcallClientError
from clients.fields import CreateFields, UpdateFields, field_by_name, parse_text
from clients.output import (
    error_text,
    message_json,
    participant_text,
    participants_json,
    participants_table,
)
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.config import SETTINGS_HELP, Settings, env_name, from_env

__all__ = ["Connection", "UsageError", "build_parser", "build_settings", "main"]

DEFAULT_TARGET = "127.0.0.1:50051"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
_SUPPRESS = argparse.SUPPRESS
# Where each connection option falls back to, in order, when its flag is absent.
CONNECTION_ENV: dict[str, tuple[str, ...]] = {
    "target": ("ROLLCALL_TARGET",),
    "account_sid": ("ROLLCALL_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
    "auth_token": ("ROLLCALL_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
    "api_key": ("ROLLCALL_API_KEY", "TWILIO_API_KEY"),
    "api_secret": ("ROLLCALL_API_SECRET", "TWILIO_API_SECRET"),
    "tls": ("ROLLCALL_TLS",),
}
_CREATE_ARGUMENTS = ("from_endpoint", "to_endpoint", "request_id")
_CREATE_FLAGS = ("label", "muted", "timeout", "status_callback", "status_callback_event")
_UPDATE_FLAGS = tuple(UpdateFields.__annotations__)

Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]
Action = Callable[[AsyncRollcallClient, argparse.Namespace], typing.Awaitable[str]]


class UsageError(Exception):
    """Bad or missing arguments, found after parsing; exit code 2."""


@dataclasses.dataclass(frozen=True)
class Connection:
    target: str
    username: str
    password: str
    account_sid: str
    secure: bool


def _env(environ: Mapping[str, str], option: str) -> str | None:
    return next((environ[n] for n in CONNECTION_ENV[option] if environ.get(n)), None)


def _env_help(option: str) -> str:
    return "env " + " or ".join(CONNECTION_ENV[option])


def resolve_connection(args: argparse.Namespace, environ: Mapping[str, str]) -> Connection:
    """Flags win over variables. An API key is used when --api-key is given, or when
    no --auth-token is given and a key is set in the environment."""

    def pick(option: str) -> str | None:
        flag: str | None = getattr(args, option, None)
        return flag if flag is not None else _env(environ, option)

    target = pick("target") or DEFAULT_TARGET
    tls = bool(getattr(args, "tls", False)) or (_env(environ, "tls") or "").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )
    account_sid = pick("account_sid")
    use_key = hasattr(args, "api_key") or (
        not hasattr(args, "auth_token") and _env(environ, "api_key") is not None
    )
    if use_key:
        username, password = pick("api_key"), pick("api_secret")
        if not password:
            raise UsageError(f"--api-key needs --api-secret ({_env_help('api_secret')})")
    else:
        username, password = account_sid, pick("auth_token")
        if not password:
            raise UsageError(f"no credentials: give --auth-token ({_env_help('auth_token')})")
    if not account_sid:
        raise UsageError(f"no account: give --account-sid ({_env_help('account_sid')})")
    assert username is not None
    return Connection(target, username, password, account_sid, tls)


def build_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Settings for `serve`: flag > ROLLCALL_* variable > default."""
    overrides = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}
    try:
        return from_env(environ, **overrides)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _entry_point(module: str, attribute: str) -> Callable[..., int]:
    # Imported when the command runs: the server's modules are heavy and the
    # participant commands never need them.
    return cast(Callable[..., int], getattr(importlib.import_module(module), attribute))


def run_serve(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = build_settings(args, environ)
    return _entry_point("service.main", "run")(settings)


def run_gateway(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    target = args.target or environ.get("ROLLCALL_TARGET") or DEFAULT_TARGET
    listen = args.listen or environ.get(env_name("http_listen")) or Settings().http_listen
    return _entry_point("service.gateway.standalone", "run_gateway")(target, listen)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _metavar(name: str, kind: type) -> str:
    if name.endswith("_listen"):
        return "HOST:PORT"
    if name.endswith("_seconds"):
        return "SECONDS"
    return {int: "N", float: "NUMBER"}.get(kind, "VALUE")


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gRPC service and the REST gateway",
        description="Run Rollcall's gRPC ParticipantService and its REST gateway until "
        "SIGTERM or SIGINT. Every flag has a ROLLCALL_* environment variable; a flag "
        "wins over its variable, which wins over the default.",
    )
    kinds = typing.get_type_hints(Settings)
    for field in dataclasses.fields(Settings):
        kind = kinds[field.name]
        default = field.default if field.default != "" else "''"
        text = SETTINGS_HELP.get(field.name, field.name.replace("_", " "))
        help_text = f"{text} (env {env_name(field.name)}, default {default})".replace("%", "%%")
        if kind is bool:
            serve.add_argument(
                _flag(field.name),
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            serve.add_argument(
                _flag(field.name),
                dest=field.name,
                type=kind,
                default=None,
                metavar=_metavar(field.name, kind),
                help=help_text,
            )
    serve.set_defaults(handler=run_serve, parser=serve)


def _add_gateway(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = commands.add_parser(
        "gateway",
        help="run the REST gateway alone, in front of a remote gRPC service",
        description="Serve Twilio's Conference Participant REST API, forwarding every "
        "request to a Rollcall gRPC service.",
    )
    gateway.add_argument(
        "--target",
        metavar="HOST:PORT",
        help=f"the gRPC service (env ROLLCALL_TARGET, default {DEFAULT_TARGET})",
    )
    gateway.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"where to serve HTTP (env {env_name('http_listen')}, "
        f"default {Settings().http_listen})",
    )
    gateway.set_defaults(handler=run_gateway, parser=gateway)
