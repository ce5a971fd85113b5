"""The `rollcall` CLI: `serve`, `gateway`, `participants`, `conferences`, `watch`, `callbacks`.

Rule 1: the CLI adds no behaviour of its own. `serve` has one flag per field of
        service.config.Settings, plus one per old name in its ALIASES (help from
        service.config_help; a value comes from the flag, else its ROLLCALL_* variable,
        else the default, via from_env); `gateway` hands its two addresses to the
        standalone gateway; participant commands live in clients.cli_participants,
        `watch` in clients.cli_watch, `callbacks` in clients.cli_callbacks, and
        `audit` and `numbers` in clients.cli_audit.
Rule 2: only `serve` and `gateway` import the server package, and only once one of
        them is chosen (their flags are added when their parser is first used): the
        client commands run with the client alone; without the server's
        dependencies (no [server] extra) they print one line naming what to install.
Rule 3: main() always returns the exit code (clients.cli_errors): 0 done, 1 the
        service refused or the server is not installed, 2 usage, 3 not found, 4 the
        service unavailable, 130 interrupted; a closed stdout (`| head`) ends quietly
        with 0. Errors are one line on stderr, or with --json one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import os
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from clients.cli_audit import add_audit
from clients.cli_callbacks import add_callbacks
from clients.cli_conferences import add_conferences
from clients.cli_connection import add_tls_options, channel_tls
from clients.cli_errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, usage_text
from clients.cli_hearing import add_hearing
from clients.cli_participants import DEFAULT_TARGET, UsageError, add_participants
from clients.cli_watch import add_watch

if TYPE_CHECKING:
    from service.config import Settings

__all__ = ["DISTRIBUTION", "build_parser", "build_settings", "main"]

DISTRIBUTION = "rollcall-conferences"
"""The name Rollcall is installed under (pip install NAME); its [server] extra
holds what `serve` and `gateway` need."""

# Our own top-level packages: a missing module under one of them is a bug to
# report as one, not a missing install.
_OWN_PACKAGES = frozenset({"service", "clients", "rollcall"})


class ServerNotInstalled(Exception):
    """`serve` or `gateway` was run where the server's dependencies are not
    installed; the argument is the first module found missing."""


class _CommandParser(argparse.ArgumentParser):
    """A command's parser whose arguments may be added on first use (parsing
    or help), so `serve` and `gateway` import the server package only when
    chosen."""

    def __init__(
        self, *args: Any, fill: Callable[[argparse.ArgumentParser], None] | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self._fill = fill

    def _filled(self) -> None:
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill(self)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._filled()
        return super().format_help()

    def format_usage(self) -> str:
        self._filled()
        return super().format_usage()


def build_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Settings for `serve`: flag > ROLLCALL_* variable > default."""
    from service.config import ALIASES, Settings, from_env

    names = [f.name for f in dataclasses.fields(Settings)] + list(ALIASES)
    overrides = {name: getattr(args, name, None) for name in names}
    try:
        return from_env(environ, **overrides)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _entry_point(module: str, attribute: str) -> Callable[..., int]:
    # Imported when the command runs: the server's modules are heavy and the
    # participant commands never need them (nor does a plain install have them).
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if not missing or missing.partition(".")[0] in _OWN_PACKAGES:
            raise
        raise ServerNotInstalled(missing.partition(".")[0]) from exc
    return cast(Callable[..., int], getattr(loaded, attribute))


def run_serve(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = build_settings(args, environ)
    return _entry_point("service.main", "run")(settings)


def gateway_addresses(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str]:
    """(target, listen) for `gateway`: flag > variable > default."""
    from service.config import Settings, env_name

    target = args.target or environ.get("ROLLCALL_TARGET") or DEFAULT_TARGET
    listen = args.listen or environ.get(env_name("http_listen")) or Settings().http_listen
    return target, listen


def run_gateway(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    target, listen = gateway_addresses(args, environ)
    tls = channel_tls(args, environ)
    return _entry_point("service.gateway.standalone", "run_gateway")(target, listen, tls)


def _metavar(name: str, kind: type) -> str:
    if name.endswith("_listen"):
        return "HOST:PORT"
    if name.endswith("_seconds"):
        return "SECONDS"
    return {int: "N", float: "NUMBER"}.get(kind, "VALUE")


def _serve_flags(serve: argparse.ArgumentParser) -> None:
    from service.config import ALIASES, Settings, env_name
    from service.config_help import SETTINGS_HELP

    kinds = typing.get_type_hints(Settings)
    for field in dataclasses.fields(Settings):
        kind = kinds[field.name]
        shown = "''" if field.default == "" else field.default
        text = SETTINGS_HELP.get(field.name, field.name.replace("_", " "))
        help_text = f"{text} (env {env_name(field.name)}, default {shown})".replace("%", "%%")
        flag = "--" + field.name.replace("_", "-")
        if kind is bool:
            serve.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, help=help_text
            )
        else:
            serve.add_argument(
                flag, dest=field.name, type=kind, metavar=_metavar(field.name, kind), help=help_text
            )
        for alias in (old for old, name in ALIASES.items() if name == field.name):
            serve.add_argument(
                "--" + alias.replace("_", "-"),
                dest=alias,
                type=kind,
                metavar=_metavar(field.name, kind),
                help=f"old name of {flag} (env {env_name(alias)}), still accepted",
            )


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gRPC service and the REST gateway",
        description="Run Rollcall's gRPC ParticipantService and its REST gateway until "
        "SIGTERM or SIGINT. Every flag has a ROLLCALL_* environment variable; a flag "
        "wins over its variable, which wins over the default. Needs the server: "
        f"pip install '{DISTRIBUTION}[server]'.",
        fill=_serve_flags,
    )
    serve.set_defaults(handler=run_serve, parser=serve)


def _gateway_flags(gateway: argparse.ArgumentParser) -> None:
    from service.config import Settings, env_name

    gateway.add_argument(
        "--target",
        metavar="HOST:PORT",
        help=f"the gRPC service (env ROLLCALL_TARGET, default {DEFAULT_TARGET})",
    )
    gateway.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"where to serve HTTP (env {env_name('http_listen')}, "
        f"default {Settings().http_listen}); HTTPS with ROLLCALL_TLS_CERT_FILE and "
        "ROLLCALL_TLS_KEY_FILE (ROLLCALL_TLS_CLIENT_CA_FILE: mutual)",
    )
    add_tls_options(gateway.add_argument_group("TLS to the gRPC service"))


def _add_gateway(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gateway = commands.add_parser(
        "gateway",
        help="run the REST gateway alone, in front of a remote gRPC service",
        description="Serve Twilio's Conference Participant REST API, forwarding every "
        "request to a Rollcall gRPC service. Needs the server: "
        f"pip install '{DISTRIBUTION}[server]'.",
        fill=_gateway_flags,
    )
    gateway.set_defaults(handler=run_gateway, parser=gateway)


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollcall",
        description="Rollcall: Twilio's Conference Participant API over gRPC and REST.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(
            dest="command", metavar="COMMAND", required=True, parser_class=_CommandParser
        ),
    )
    _add_serve(commands)
    _add_gateway(commands)
    add_participants(commands)
    add_conferences(commands)
    add_watch(commands)
    add_callbacks(commands)
    add_audit(commands)
    add_hearing(commands)
    return parser


def _exit_code(exit: SystemExit) -> int:
    if exit.code is None or isinstance(exit.code, int):
        return exit.code or 0
    print(exit.code, file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (argparse's exits included)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse's usage errors
        return _exit_code(exc)
    try:
        return int(args.handler(args, os.environ))
    except UsageError as exc:
        as_json = usage_text(str(exc), bool(getattr(args, "json", False)))
        if as_json is not None:
            print(as_json, file=sys.stderr)
            return EXIT_USAGE
        command: argparse.ArgumentParser = args.parser
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader stopped reading (`| head`): end quietly. Python would
        # otherwise complain when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ServerNotInstalled as exc:
        print(
            f"rollcall {args.command} needs the server: pip install '{DISTRIBUTION}[server]' "
            f"({exc} is not installed)",
            file=sys.stderr,
        )
        return 1
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
