"""Rules on single fields and requests (service.rpc.requests): labels, endpoints,
URLs, Update presence (Create: test_create_request.py; resource names: test_names.py)."""

from __future__ import annotations

import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc.requests import (
    endpoint_ok,
    label_problem,
    update_command,
    valid_url,
)

AC = "AC" + "a" * 32


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        ("agent", True),
        ("agent one ü", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("CA" + "f" * 32, False),
        ("CA" + "F" * 32, False),
        ("CA" + "f" * 31, True),
        ("a/b", False),
        ("a%2Fb", False),
        ("a%2fb", False),
        ("", False),
    ],
)
def test_labels(label: str, ok: bool) -> None:
    assert (label_problem(label) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("+15551234567", True),
        ("+1", False),
        ("15551234567", False),
        ("+0555", False),
        ("client:alice", True),
        ("client:", False),
        ("sip:bob@example.com", True),
        ("sip:bob", False),
        ("", False),
    ],
)
def test_endpoints(value: str, ok: bool) -> None:
    assert endpoint_ok(value) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/x?y=1", True),
        ("http://127.0.0.1:8080/cb", True),
        ("ftp://example.com", False),
        ("example.com/x", False),
        ("https://", False),
        ("https://exa mple.com", False),
    ],
)
def test_urls(url: str, ok: bool) -> None:
    assert valid_url(url) is ok


def test_update_presence() -> None:
    cmd = update_command(pb.UpdateParticipantRequest(name="x", muted=False, wait_url=""))
    assert cmd.muted is False
    assert cmd.hold is None
    assert cmd.wait_url == ""
    assert cmd.announce_url is None
