"""How every `rollcall` client command reaches the service: target, account, TLS.

Rule 1: connection options may be given before or after the action; a flag
        wins over its ROLLCALL_* (then TWILIO_*) variable, which wins over the
        default.
Rule 2: TLS is on with --tls or any of --ca-file, --cert-file, --key-file
        (clients.tls); --server-name checks the server's certificate against
        that name.
Rule 3: --deadline bounds each unary call, retries included (streams have none).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc

from clients.channel import basic_credentials
from clients.cli_errors import report, usage_words
from clients.client import DEFAULT_TIMEOUT_SECONDS, AsyncRollcallClient
from clients.errors import RollcallClientError
from clients.tls import ChannelTls

__all__ = [
    "CONNECTION_ENV",
    "DEFAULT_TARGET",
    "Action",
    "Connection",
    "UsageError",
    "call_unary",
    "connection_options",
    "resolve_connection",
    "runner",
]

DEFAULT_TARGET = "127.0.0.1:50051"
# Where each connection option falls back to, in order, when its flag is absent.
CONNECTION_ENV: dict[str, tuple[str, ...]] = {
    "target": ("ROLLCALL_TARGET",),
    "account_sid": ("ROLLCALL_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
    "auth_token": ("ROLLCALL_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
    "api_key": ("ROLLCALL_API_KEY", "TWILIO_API_KEY"),
    "api_secret": ("ROLLCALL_API_SECRET", "TWILIO_API_SECRET"),
    "tls": ("ROLLCALL_TLS",),
    "ca_file": ("ROLLCALL_TARGET_CA_FILE",),
    "cert_file": ("ROLLCALL_TARGET_CERT_FILE",),
    "key_file": ("ROLLCALL_TARGET_KEY_FILE",),
    "server_name": ("ROLLCALL_TARGET_SERVER_NAME",),
    "deadline": ("ROLLCALL_DEADLINE_SECONDS",),
}
_TRUE_WORDS = ("1", "true", "yes", "on")
_TLS_FILES = (
    ("ca_file", "FILE", "PEM CA certificates that signed the server's certificate (turns TLS on)"),
    ("cert_file", "FILE", "PEM client certificate for mutual TLS (turns TLS on)"),
    ("key_file", "FILE", "PEM key of --cert-file"),
    ("server_name", "NAME", "the name the server's certificate must carry, if not the target's"),
)


class UsageError(Exception):
    """Bad or missing arguments found after parsing: exit code 2."""


@dataclasses.dataclass(frozen=True)
class Connection:
    target: str
    username: str
    password: str = dataclasses.field(repr=False)
    account_sid: str
    tls: ChannelTls = dataclasses.field(default_factory=ChannelTls)
    deadline: float | None = DEFAULT_TIMEOUT_SECONDS

    @property
    def secure(self) -> bool:
        return self.tls.enabled

    def client(self, **options: Any) -> AsyncRollcallClient:
        """A client for this connection (options: keepalive and the like)."""
        return AsyncRollcallClient(
            self.target,
            self.username,
            self.password,
            account_sid=self.account_sid,
            secure=self.tls.secure,
            ca_file=self.tls.ca_file,
            cert_file=self.tls.cert_file,
            key_file=self.tls.key_file,
            server_name=self.tls.server_name,
            timeout=self.deadline,
            **options,
        )


def _env(environ: Mapping[str, str], option: str) -> str | None:
    return next((environ[n] for n in CONNECTION_ENV[option] if environ.get(n)), None)


def _env_help(option: str) -> str:
    return "env " + " or ".join(CONNECTION_ENV[option])


def channel_tls(args: argparse.Namespace, environ: Mapping[str, str]) -> ChannelTls:
    """Rule 2, from the flags and variables (also for `rollcall gateway`)."""

    def pick(option: str) -> str | None:
        flag: str | None = getattr(args, option, None)
        return flag if flag is not None else _env(environ, option)

    secure = bool(getattr(args, "tls", False)) or (
        (_env(environ, "tls") or "").lower() in _TRUE_WORDS
    )
    tls = ChannelTls(
        secure, pick("ca_file"), pick("cert_file"), pick("key_file"), pick("server_name")
    )
    if bool(tls.cert_file) != bool(tls.key_file):
        raise UsageError("--cert-file and --key-file go together (mutual TLS)")
    return tls


def _deadline(args: argparse.Namespace, environ: Mapping[str, str]) -> float | None:
    raw = getattr(args, "deadline", None)
    if raw is None:
        raw = _env(environ, "deadline")
    if raw is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise UsageError(f"--deadline {raw!r}: expected seconds") from None
    if seconds < 0 or seconds != seconds:
        raise UsageError(f"--deadline {raw!r}: expected seconds, 0 for none")
    return seconds or None


def resolve_connection(args: argparse.Namespace, environ: Mapping[str, str]) -> Connection:
    """Flags win over variables. An API key is used when --api-key is given, or
    when no --auth-token is given and a key is set in the environment."""

    def pick(option: str) -> str | None:
        flag: str | None = getattr(args, option, None)
        return flag if flag is not None else _env(environ, option)

    target = pick("target") or DEFAULT_TARGET
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
    if not account_sid or not username:
        raise UsageError(f"no account: give --account-sid ({_env_help('account_sid')})")
    return Connection(
        target,
        username,
        password,
        account_sid,
        channel_tls(args, environ),
        _deadline(args, environ),
    )


def add_tls_options(group: argparse._ArgumentGroup) -> None:
    """--tls, --ca-file, --cert-file, --key-file, --server-name."""
    group.add_argument(
        "--tls",
        action="store_true",
        default=argparse.SUPPRESS,
        help=f"connect with TLS, trusting the system's CAs ({_env_help('tls')}=true)",
    )
    for option, metavar, text in _TLS_FILES:
        group.add_argument(
            "--" + option.replace("_", "-"),
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=f"{text} ({_env_help(option)})",
        )


def connection_options() -> argparse.ArgumentParser:
    """The parent parser of every command that calls the service: connection
    options and --json."""
    # Defaults are SUPPRESS so that an option given after the action does not
    # overwrite the same option given before it with a default.
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    for option, metavar, text in (
        ("target", "HOST:PORT", "the gRPC service"),
        ("account_sid", "AC...", "account the resources belong to"),
        ("auth_token", "TOKEN", "the account's auth token"),
        ("api_key", "SK...", "authenticate with an API key instead"),
        ("api_secret", "SECRET", "the API key's secret"),
    ):
        default = f", default {DEFAULT_TARGET}" if option == "target" else ""
        group.add_argument(
            "--" + option.replace("_", "-"),
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=f"{text} ({_env_help(option)}{default})",
        )
    add_tls_options(group)
    group.add_argument(
        "--deadline",
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="seconds each call may take, retries included; 0 for none; streams have none"
        f" ({_env_help('deadline')}, default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print protobuf JSON (proto field names, enum names); errors as a JSON object",
    )
    return common


def call_unary(connection: Connection, method: str, request: Any, response: Any) -> Any:
    """One unary call by its full method name, for the commands whose RPCs the
    clients do not wrap: the connection's credentials, TLS and deadline;
    a refusal raised as RollcallClientError."""
    metadata = (("authorization", basic_credentials(connection.username, connection.password)),)
    tls = connection.tls
    if tls.enabled:
        channel = grpc.secure_channel(connection.target, tls.credentials(), options=tls.options())
    else:
        channel = grpc.insecure_channel(connection.target)
    with channel:
        stub = channel.unary_unary(method)
        try:
            data = stub(request.SerializeToString(), metadata=metadata, timeout=connection.deadline)
        except grpc.RpcError as exc:
            raise RollcallClientError.from_rpc_error(exc) from exc
    return response.FromString(data)


# A command's work with a client: what it prints.
Action = Callable[[AsyncRollcallClient, argparse.Namespace], Awaitable[str]]


async def _with_client(action: Action, connection: Connection, args: argparse.Namespace) -> str:
    async with connection.client() as client:
        return await action(client, args)


def runner(action: Action) -> Callable[[argparse.Namespace, Mapping[str, str]], int]:
    """A command's handler: `action` with a client of the connection the
    options name, its output printed; a refusal reported in one line
    (clients.cli_errors), a value refused before sending a usage error."""

    def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
        connection = resolve_connection(args, environ)
        try:
            output = asyncio.run(_with_client(action, connection, args))
        except RollcallClientError as exc:
            return report(exc, args, connection.target, connection.secure)
        except ValueError as exc:
            # Refused by clients.fields before anything was sent.
            raise UsageError(usage_words(exc, args)) from exc
        print(output)
        return 0

    return run
