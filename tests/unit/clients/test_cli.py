"""The `rollcall` CLI without a server: parsing, settings, connection and output."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from clients import cli
from clients.cli_participants import (
    UsageError,
    create_arguments,
    resolve_connection,
    update_arguments,
)
from clients.output import message_json, participant_text, participants_table
from rollcall.v1 import participant_pb2 as ppb
from service.config import Settings, env_name

AC = "AC" + "a" * 32
CF = "CF" + "b" * 32
CA = "CA" + "c" * 32
CONNECT = ["--account-sid", AC, "--auth-token", "tok"]


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def participant(**overrides: Any) -> ppb.Participant:
    values: dict[str, Any] = {
        "name": f"accounts/{AC}/conferences/{CF}/participants/{CA}",
        "account_sid": AC,
        "call_sid": CA,
        "conference_sid": CF,
        "date_created": Timestamp(seconds=1_700_000_000),
        "muted": True,
        "status": ppb.PARTICIPANT_STATUS_CONNECTED,
        "call_status": ppb.CALL_STATUS_IN_PROGRESS,
        "revision": 7,
        "etag": 'W/"7"',
        "from_endpoint": "+15005550006",
        "to_endpoint": "+15551230000",
    }
    values.update(overrides)
    return ppb.Participant(**values)


# --- serve -----------------------------------------------------------------


def test_serve_has_one_flag_per_setting() -> None:
    args = parse("serve", "--grpc-listen", "0.0.0.0:6000", "--sim-ring-seconds", "0.5")
    assert args.grpc_listen == "0.0.0.0:6000"
    assert args.sim_ring_seconds == 0.5
    assert args.database is None
    assert {f.name for f in dataclasses.fields(Settings)} <= set(vars(args))


def test_settings_resolve_flag_then_environment_then_default() -> None:
    args = parse("serve", "--grpc-listen", "0.0.0.0:6000", "--event-retention-count", "5")
    environ = {
        "ROLLCALL_GRPC_LISTEN": "10.0.0.1:7000",
        "ROLLCALL_DATABASE": "/var/lib/rollcall.db",
        "ROLLCALL_EVENT_RETENTION_COUNT": "9",
    }
    settings = cli.build_settings(args, environ)
    assert settings.grpc_listen == "0.0.0.0:6000"
    assert settings.event_retention_count == 5
    assert settings.database == "/var/lib/rollcall.db"
    assert settings.http_listen == Settings().http_listen


@pytest.mark.parametrize(
    ("argv", "environ", "carrier"),
    [
        ((), {}, "simulated"),
        (("--dialer", "twilio"), {}, "twilio"),
        ((), {"ROLLCALL_DIALER": "twilio"}, "twilio"),
        # Both names at one level: the new one wins.
        (("--dialer", "simulated", "--carrier", "twilio"), {}, "twilio"),
        (("--carrier", "twilio", "--dialer", "simulated"), {}, "twilio"),
        ((), {"ROLLCALL_DIALER": "simulated", "ROLLCALL_CARRIER": "twilio"}, "twilio"),
        # A flag beats a variable, whichever name either uses.
        (("--dialer", "twilio"), {"ROLLCALL_CARRIER": "simulated"}, "twilio"),
        (("--carrier", "twilio"), {"ROLLCALL_DIALER": "simulated"}, "twilio"),
    ],
)
def test_carrier_keeps_dialer_as_its_old_name(
    argv: tuple[str, ...], environ: dict[str, str], carrier: str
) -> None:
    settings = cli.build_settings(parse("serve", *argv), environ)
    assert settings.carrier == carrier


def test_serve_help_names_the_old_dialer_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--dialer VALUE old name of --carrier (env ROLLCALL_DIALER)" in text


def test_bad_environment_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="ROLLCALL_SIM_RING_SECONDS"):
        cli.build_settings(parse("serve"), {"ROLLCALL_SIM_RING_SECONDS": "soon"})


def test_serve_help_documents_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(Settings):
        assert env_name(field.name) in text
        assert "--" + field.name.replace("_", "-") in text


def test_serve_hands_resolved_settings_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_entry_point(module: str, attribute: str) -> Any:
        def entry(*args: Any) -> int:
            seen.append((module, attribute, *args))
            return 3

        return entry

    monkeypatch.setattr(cli, "_entry_point", fake_entry_point)
    monkeypatch.setenv("ROLLCALL_CARRIER", "simulated")
    assert cli.main(["serve", "--log-level", "DEBUG"]) == 3
    [(module, attribute, settings)] = seen
    assert (module, attribute) == ("service.main", "run")
    assert settings.log_level == "DEBUG"


def test_gateway_addresses_resolve_flag_then_environment_then_default() -> None:
    args = parse("gateway", "--listen", "0.0.0.0:9000")
    target, listen = cli.gateway_addresses(args, {"ROLLCALL_TARGET": "svc:50051"})
    assert (target, listen) == ("svc:50051", "0.0.0.0:9000")
    assert cli.gateway_addresses(parse("gateway"), {}) == ("127.0.0.1:50051", "127.0.0.1:8080")


# --- usage -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["gateway"],
        ["participants"],
        ["participants", "create"],
        ["participants", "fetch"],
        ["participants", "list"],
        ["participants", "update"],
        ["participants", "delete"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*command, "--help"]) == 0
    assert "usage: rollcall" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["participants", "create", CF, "--to", "+15551230000"],
        ["participants", "fetch", CF],
        ["participants", "list", CF, "--all", "--page-token", "x"],
        ["participants", "update", CF, CA, "--muted", "--unmuted"],
        ["participants", "create", CF, "--from", "a", "--to", "b", "--timeout", "long"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_missing_credentials_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ROLLCALL_AUTH_TOKEN", "TWILIO_AUTH_TOKEN", "ROLLCALL_API_KEY", "TWILIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["participants", "fetch", CF, CA, "--account-sid", AC]) == 2
    assert "--auth-token" in capsys.readouterr().err


@pytest.mark.parametrize(
    "param",
    ["bogus=1", "record=maybe", "beep=loud", "label=twice", "noequals", "parent=x"],
)
def test_bad_params_exit_2_before_calling(param: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["participants", "create", CF, "--from", "a", "--to", "b", "--label", "l"]
    # The target is unroutable: a usage error must come before any call.
    argv += ["--target", "127.0.0.1:1", *CONNECT, "--param", param]
    assert cli.main(argv) == 2
    assert "--param" in capsys.readouterr().err


# --- participants: arguments -----------------------------------------------


def test_create_arguments_merge_flags_and_params() -> None:
    args = parse(
        "participants", "create", "standup", *CONNECT,
        "--from", "+15005550006", "--to", "client:alice", "--muted", "--timeout", "30",
        "--request-id", "r-1", "--status-callback-event", "initiated ringing",
        "--status-callback-event", "answered",
        "--param", "Beep=onEnter", "--param", "max_participants=10", "--param", "record=true",
        "--param", "ConferenceStatusCallbackEvent=start",
        "--param", "conference-status-callback-event=end",
    )  # fmt: skip
    assert args.conference == "standup"
    assert create_arguments(args) == {
        "from_endpoint": "+15005550006",
        "to_endpoint": "client:alice",
        "request_id": "r-1",
        "muted": True,
        "timeout": 30,
        "status_callback_event": ["initiated ringing", "answered"],
        "beep": "onEnter",
        "max_participants": 10,
        "record": True,
        "conference_status_callback_event": ["start", "end"],
    }


def test_create_param_may_not_repeat_a_flag() -> None:
    args = parse("participants", "create", CF, "--from", "a", "--to", "b", "--param", "From=c")
    with pytest.raises(UsageError, match="already given"):
        create_arguments(args)


def test_update_arguments_hold_only_the_flags_given() -> None:
    args = parse(
        "participants", "update", CF, "agent one", "--unmuted", "--hold",
        "--hold-url", "https://example.com/hold", "--hold-method", "GET",
        "--no-beep-on-exit", "--etag", 'W/"3"',
    )  # fmt: skip
    assert args.participant == "agent one"
    assert args.etag == 'W/"3"'
    assert update_arguments(args) == {
        "muted": False,
        "hold": True,
        "hold_url": "https://example.com/hold",
        "hold_method": "GET",
        "beep_on_exit": False,
    }
    assert update_arguments(parse("participants", "update", CF, CA)) == {}


def test_list_filters_are_tri_state() -> None:
    args = parse("participants", "list", CF, "--no-muted", "--hold", "--page-size", "2")
    assert (args.muted, args.hold, args.coaching) == (False, True, None)
    assert args.page_size == 2 and not args.all


def test_connection_options_go_before_or_after_the_action() -> None:
    before = parse("participants", "--target", "h:1", "--json", "fetch", CF, CA)
    after = parse("participants", "fetch", CF, CA, "--target", "h:1", "--json")
    both = parse("participants", "--target", "h:1", "fetch", CF, CA, "--account-sid", AC)
    assert before.target == after.target == both.target == "h:1"
    assert before.json and after.json
    assert both.account_sid == AC


def test_connection_falls_back_to_rollcall_then_twilio_variables() -> None:
    environ = {
        "TWILIO_ACCOUNT_SID": AC,
        "TWILIO_AUTH_TOKEN": "twilio-token",
        "ROLLCALL_AUTH_TOKEN": "rollcall-token",
        "ROLLCALL_TARGET": "svc:50051",
    }
    connection = resolve_connection(parse("participants", "fetch", CF, CA), environ)
    assert connection.target == "svc:50051"
    assert (connection.username, connection.password) == (AC, "rollcall-token")
    assert connection.account_sid == AC
    assert not connection.secure


def test_connection_flags_win_over_variables() -> None:
    args = parse("participants", "fetch", CF, CA, "--auth-token", "flag", "--tls")
    environ = {"ROLLCALL_ACCOUNT_SID": AC, "ROLLCALL_API_KEY": "SK1", "ROLLCALL_API_SECRET": "s"}
    connection = resolve_connection(args, environ)
    assert (connection.username, connection.password) == (AC, "flag")
    assert connection.secure


def test_connection_with_an_api_key() -> None:
    args = parse("participants", "fetch", CF, CA, "--api-key", "SK1", "--api-secret", "s")
    connection = resolve_connection(args, {"ROLLCALL_ACCOUNT_SID": AC})
    assert (connection.username, connection.password, connection.account_sid) == ("SK1", "s", AC)
    with pytest.raises(UsageError, match="--account-sid"):
        resolve_connection(args, {})
    with pytest.raises(UsageError, match="--api-secret"):
        resolve_connection(parse("participants", "fetch", CF, CA, "--api-key", "SK1"), {})


# --- output ----------------------------------------------------------------


def test_participant_text_is_aligned_key_value_lines_in_proto_order() -> None:
    lines = participant_text(participant()).splitlines()
    assert len(lines) == len(ppb.Participant.DESCRIPTOR.fields)
    column = len("start_conference_on_enter: ")  # the longest key
    assert lines[0] == "name:".ljust(column) + f"accounts/{AC}/conferences/{CF}/participants/{CA}"
    assert all(line[column - 1] == " " and line[column] != " " for line in lines)
    values = dict(line.split(": ", 1) for line in lines)
    values = {key: value.strip() for key, value in values.items()}
    assert values["call_sid"] == CA
    assert values["label"] == "-"
    assert values["muted"] == "true"
    assert values["hold"] == "false"
    assert values["status"] == "connected"
    assert values["call_status"] == "in-progress"
    assert values["leave_reason"] == "-"
    assert values["date_created"] == "2023-11-14T22:13:20Z"
    assert values["date_updated"] == "-"
    assert values["queue_time_ms"] == "-"
    assert values["revision"] == "7"


def test_participants_table_has_one_row_per_participant() -> None:
    rows = participants_table(
        [participant(), participant(call_sid="CA" + "d" * 32, label="agent one", muted=False)]
    ).splitlines()
    assert rows[0].split() == ["CALL", "SID", "LABEL", "STATUS", "MUTED", "HOLD", "COACHING",
                               "REVISION"]  # fmt: skip
    assert rows[1].split() == [CA, "-", "connected", "true", "false", "false", "7"]
    assert rows[2].split("  ")[0] == "CA" + "d" * 32
    assert "agent one" in rows[2]
    assert rows[0].index("LABEL") == rows[1].index("-") == rows[2].index("agent one")


def test_json_output_uses_proto_field_names_and_enum_names() -> None:
    data = json.loads(message_json(participant(label="a")))
    assert data["call_sid"] == CA
    assert data["status"] == "PARTICIPANT_STATUS_CONNECTED"
    assert data["hold"] is False
    assert data["label"] == "a"
    assert data["revision"] == "7"
