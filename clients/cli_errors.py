"""How the `rollcall` CLI tells a person that a call failed: one line, or one JSON object.

Rule 1: one line on stderr: `error: WHAT (REASON[, twilio N]): DETAIL[; HINT]`.
        WHAT says in words what failed ("participants create failed", "server
        not reachable at HOST:PORT"); REASON is the stable reason; a Twilio
        code only when the server sent one; DETAIL names bad fields by the
        command's own flags (`--to`, not `to_endpoint`); HINT where one helps.
Rule 2: with --json, the same as one JSON object on stderr:
        {"error": {"command", "code", "reason", "message", "twilio_code",
        "fields": [{"flag", "field", "description"}], "hint", "exit_code"}}.
Rule 3: exit codes (EXIT_*): 0 done, 1 refused or failed otherwise, 2 usage,
        3 not found, 4 the service unavailable (not reachable, TLS refused,
        no answer within the deadline, UNAVAILABLE), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping

from clients.errors import RollcallClientError

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Described",
    "describe",
    "flag_names",
    "report",
    "usage_text",
    "usage_words",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130

_UNAVAILABLE_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED")
# Resource names in requests are the command's positional arguments.
_POSITIONAL = {"parent": "CONFERENCE", "name": "CONFERENCE or PARTICIPANT"}


@dataclasses.dataclass(frozen=True)
class Described:
    line: str
    document: dict[str, object]
    exit_code: int

    def text(self, as_json: bool) -> str:
        if as_json:
            return json.dumps({"error": self.document}, separators=(",", ":"))
        return self.line


def flag_names(parser: argparse.ArgumentParser | None) -> dict[str, str]:
    """dest -> the flag that sets it (`to_endpoint` -> `--to`), from a parser."""
    names: dict[str, str] = {}
    for action in parser._actions if parser is not None else ():
        long = [o for o in action.option_strings if o.startswith("--")]
        if long and action.dest not in names:
            names[action.dest] = long[0]
        elif not action.option_strings and action.metavar:
            names[action.dest] = str(action.metavar)
    return names


def _flag(field: str, flags: Mapping[str, str]) -> str:
    root = field.split(".")[0].split("[")[0]
    if root in flags:
        return flags[root]
    if root in _POSITIONAL:
        return _POSITIONAL[root]
    return f"--param {root}"


def _hint(error: RollcallClientError, target: str, tls: bool) -> str | None:
    if error.reason == "CONNECTION_FAILED":
        return "is it running? set --target or ROLLCALL_TARGET"
    if error.reason == "TLS_HANDSHAKE_FAILED":
        if "untrusted CA" in error.message:
            return "give the CA that signed the server's certificate: --ca-file"
        if "server's name" in error.message:
            return "connect by a name the certificate carries, or set --server-name"
        if "does not speak TLS" in error.message:
            return "the server is plaintext: leave out --tls and the TLS files"
        return "does the server want a client certificate (--cert-file, --key-file)?"
    if error.code == "DEADLINE_EXCEEDED":
        return "the server may be overloaded; --deadline gives it longer"
    if error.code == "UNAUTHENTICATED":
        return "check --account-sid and --auth-token (or --api-key and --api-secret)"
    if error.retry_delay is not None:
        return f"retry in {error.retry_delay:g} s"
    if error.code == "UNAVAILABLE" and not tls and "Socket closed" in error.message:
        return "does the server want TLS? add --tls or --ca-file"
    return None


def _what(error: RollcallClientError, command: str, target: str) -> str:
    if error.reason == "CONNECTION_FAILED":
        return f"server not reachable at {target}"
    if error.reason == "TLS_HANDSHAKE_FAILED":
        return f"TLS handshake with {target} failed"
    if error.code == "DEADLINE_EXCEEDED":
        return f"no answer from {target} within the deadline"
    return f"{command} failed"


def exit_code(error: RollcallClientError) -> int:
    if error.code == "NOT_FOUND":
        return EXIT_NOT_FOUND
    if error.code in _UNAVAILABLE_CODES:
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def describe(
    error: RollcallClientError,
    *,
    command: str,
    target: str,
    flags: Mapping[str, str],
    tls: bool = False,
) -> Described:
    """Rules 1 and 2 for one failed call of `command` ("participants create")."""
    fields = [
        {"flag": _flag(v.field, flags), "field": v.field, "description": v.description}
        for v in error.field_violations
    ]
    if fields:
        detail = "; ".join(f"{f['flag']}: {f['description']}" for f in fields)
    elif error.reason == "CONNECTION_FAILED":
        detail = ""
    elif error.reason == "TLS_HANDSHAKE_FAILED":
        detail = error.message.removeprefix("TLS handshake failed: ")
    else:
        detail = error.message
    hint = _hint(error, target, tls)
    label = error.reason
    if error.twilio_code is not None:
        label += f", twilio {error.twilio_code}"
    line = f"error: {_what(error, command, target)} ({label})"
    line += f": {detail}" if detail else ""
    line += f"; {hint}" if hint else ""
    code = exit_code(error)
    document: dict[str, object] = {
        "command": command,
        "code": error.code,
        "reason": error.reason,
        "message": detail or error.message,
        "twilio_code": error.twilio_code,
        "fields": fields,
        "hint": hint,
        "exit_code": code,
    }
    return Described(" ".join(line.split()), document, code)


def report(error: RollcallClientError, args: argparse.Namespace, target: str, tls: bool) -> int:
    """Print one failed call of the command `args` holds (Rules 1 and 2) on
    stderr; the exit code (Rule 3)."""
    command = " ".join(str(word) for word in (args.command, getattr(args, "action", None)) if word)
    described = describe(
        error,
        command=command,
        target=target,
        flags=flag_names(getattr(args, "parser", None)),
        tls=tls,
    )
    print(described.text(bool(getattr(args, "json", False))), file=sys.stderr)
    return described.exit_code


def usage_text(message: str, as_json: bool) -> str | None:
    """A usage error as Rule 2's JSON object (None: print argparse's usage)."""
    if not as_json:
        return None
    document = {"code": "USAGE", "reason": "USAGE", "message": message, "exit_code": EXIT_USAGE}
    return json.dumps({"error": document}, separators=(",", ":"))


def usage_words(error: ValueError, args: argparse.Namespace) -> str:
    """A value the client refused before sending, named by its flag."""
    field = getattr(error, "field", None)
    flags = flag_names(getattr(args, "parser", None))
    return f"{flags[field]}: {error}" if field in flags else str(error)
