"""The participants commands' --attribute and --replace-attributes flags as the
client's keyword arguments, and attributes in the readable output."""

from __future__ import annotations

import argparse

import pytest

from clients import cli
from clients.cli_arguments import attribute_pairs, create_arguments, update_arguments
from clients.cli_connection import UsageError
from clients.output import participant_text, participants_table
from rollcall.v1 import participant_pb2 as ppb

CF = "CF" + "b" * 32
CA = "CA" + "c" * 32


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def test_create_and_update_take_repeated_attributes() -> None:
    args = parse(
        "participants", "create", CF, "--from", "a", "--to", "b",
        "--attribute", "role=agent", "--attribute", "team=blue", "--attribute", "role=lead",
        "--attribute", "note=a=b",
    )  # fmt: skip
    assert create_arguments(args)["attributes"] == {"role": "lead", "team": "blue", "note": "a=b"}
    args = parse("participants", "update", CF, CA, "--attribute", "team=", "--replace-attributes")
    assert update_arguments(args) == {"attributes": {"team": ""}, "replace_attributes": True}
    args = parse("participants", "update", CF, CA, "--replace-attributes")
    assert update_arguments(args) == {"replace_attributes": True}  # remove them all
    assert "attributes" not in create_arguments(
        parse("participants", "create", CF, "--from", "a", "--to", "b")
    )


@pytest.mark.parametrize("item", ["role", "=agent"])
def test_an_attribute_without_a_key_and_value_is_a_usage_error(item: str) -> None:
    with pytest.raises(UsageError) as caught:
        attribute_pairs([item])
    assert str(caught.value) == f"--attribute {item!r}: expected KEY=VALUE"


def test_list_takes_attribute_filters() -> None:
    args = parse("participants", "list", CF, "--attribute", "role=agent", "--attribute", "a=b")
    assert args.attributes == ["role=agent", "a=b"]


def test_attributes_show_as_sorted_pairs() -> None:
    tagged = ppb.Participant(call_sid=CA, attributes={"team": "blue", "role": "agent"})
    assert "attributes:" in participant_text(tagged)
    line = next(x for x in participant_text(tagged).splitlines() if x.startswith("attributes:"))
    assert line.split() == ["attributes:", "role=agent,team=blue"]
    rows = participants_table([tagged, ppb.Participant(call_sid=CA)]).splitlines()
    assert rows[1].split()[-1] == "role=agent,team=blue"
    assert rows[2].split()[-1] == "-"
