"""clients.cli_errors: each failure is one whole line (or one JSON object),
named in the command's own words and flags, with the exit code it documents."""

from __future__ import annotations

import json

import pytest

from clients import cli
from clients.cli_errors import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_UNAVAILABLE,
    describe,
    flag_names,
)
from clients.errors import FieldViolation, RollcallClientError

TARGET = "127.0.0.1:50051"
CREATE = ["participants", "create", "CF1", "--from", "+1", "--to", "+2"]


def _flags(*argv: str) -> dict[str, str]:
    parser = cli.build_parser()
    args = parser.parse_args([*argv, "--account-sid", "AC1", "--auth-token", "t"])
    return flag_names(args.parser)


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (
            RollcallClientError("UNAVAILABLE", "CONNECTION_FAILED", "cannot connect: refused"),
            "error: server not reachable at 127.0.0.1:50051 (CONNECTION_FAILED);"
            " is it running? set --target or ROLLCALL_TARGET",
            EXIT_UNAVAILABLE,
        ),
        (
            RollcallClientError(
                "UNAVAILABLE",
                "TLS_HANDSHAKE_FAILED",
                "TLS handshake failed: the certificate is signed by an untrusted CA",
            ),
            "error: TLS handshake with 127.0.0.1:50051 failed (TLS_HANDSHAKE_FAILED):"
            " the certificate is signed by an untrusted CA;"
            " give the CA that signed the server's certificate: --ca-file",
            EXIT_UNAVAILABLE,
        ),
        (
            RollcallClientError(
                "INVALID_ARGUMENT",
                "INVALID_ARGUMENT",
                "to_endpoint: not a phone number; timeout: must be 5-600",
                twilio_code=21211,
                field_violations=(
                    FieldViolation("to_endpoint", "not a phone number"),
                    FieldViolation("timeout", "must be 5-600"),
                    FieldViolation("beep", "not a word"),
                ),
            ),
            "error: participants create failed (INVALID_ARGUMENT, twilio 21211):"
            " --to: not a phone number; --timeout: must be 5-600; --param beep: not a word",
            EXIT_FAILED,
        ),
        (
            RollcallClientError(
                "NOT_FOUND", "PARTICIPANT_NOT_FOUND", "no such participant", twilio_code=20404
            ),
            "error: participants create failed (PARTICIPANT_NOT_FOUND, twilio 20404):"
            " no such participant",
            EXIT_NOT_FOUND,
        ),
        (
            RollcallClientError(
                "RESOURCE_EXHAUSTED", "RATE_LIMITED", "Too Many Requests", retry_delay=2.0
            ),
            "error: participants create failed (RATE_LIMITED): Too Many Requests; retry in 2 s",
            EXIT_FAILED,
        ),
        (
            RollcallClientError("DEADLINE_EXCEEDED", "UNAVAILABLE", "Deadline Exceeded"),
            "error: no answer from 127.0.0.1:50051 within the deadline (UNAVAILABLE):"
            " Deadline Exceeded; the server may be overloaded; --deadline gives it longer",
            EXIT_UNAVAILABLE,
        ),
    ],
    ids=lambda value: getattr(value, "reason", None),
)
def test_one_line_per_error(error: RollcallClientError, line: str, code: int) -> None:
    flags = _flags("participants", "create", "CF1", "--from", "+1", "--to", "+2")
    described = describe(error, command="participants create", target=TARGET, flags=flags)
    assert described.line == line
    assert described.exit_code == code
    document = json.loads(described.text(as_json=True))["error"]
    assert (document["reason"], document["exit_code"]) == (error.reason, code)
    assert document["twilio_code"] == error.twilio_code


def test_json_names_each_field_by_flag_and_proto_name() -> None:
    error = RollcallClientError(
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "status_callback: not a URL",
        field_violations=(FieldViolation("status_callback", "not a URL"),),
    )
    flags = _flags("participants", "create", "CF1", "--from", "+1", "--to", "+2")
    described = describe(error, command="participants create", target=TARGET, flags=flags)
    assert json.loads(described.text(as_json=True)) == {
        "error": {
            "command": "participants create",
            "code": "INVALID_ARGUMENT",
            "reason": "INVALID_ARGUMENT",
            "message": "--status-callback: not a URL",
            "twilio_code": None,
            "fields": [
                {
                    "flag": "--status-callback",
                    "field": "status_callback",
                    "description": "not a URL",
                }
            ],
            "hint": None,
            "exit_code": EXIT_FAILED,
        }
    }


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            [*CREATE, "--status-callback-event", "x"],
            "rollcall participants create: error: --status-callback-event: 'x' is not"
            " a CallEvent: expected one of initiated, ringing, answered, completed",
        ),
        (
            ["conferences", "list", "--status", "bogus"],
            "rollcall conferences list: error: --status: 'bogus' is not a ConferenceStatus:"
            " expected one of init, in-progress, completed",
        ),
    ],
)
def test_a_value_refused_before_sending_names_its_flag(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = ["--target", "127.0.0.1:1", "--account-sid", "AC1", "--auth-token", "t"]
    assert cli.main([*argv, *connect]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == line
