"""Rules on single fields and requests (service.rpc.requests): labels, endpoints,
URLs, Create defaults, fingerprints, Update presence (resource names: test_names.py)."""

from __future__ import annotations

import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.core.commands import ConferenceRef
from service.core.model import Role
from service.rpc.requests import (
    create_command,
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


def test_create_defaults_and_coaching_implied() -> None:
    cmd = create_command(
        pb.CreateParticipantRequest(
            parent=f"accounts/{AC}/conferences/room",
            from_endpoint="+15005550006",
            to_endpoint="+15551234567",
            call_sid_to_coach="CA" + "1" * 32,
        ),
        ConferenceRef(AC, "room"),
    )
    # Twilio's coach is a whisper to its one target.
    assert (cmd.role, cmd.whisper_targets) == (Role.WHISPER, ("CA" + "1" * 32,))
    assert (cmd.timeout, cmd.time_limit, cmd.max_participants) == (60, 14400, 250)
    assert cmd.start_conference_on_enter is True
    assert cmd.wait_url is None
    assert cmd.fingerprint


def test_fingerprint_ignores_request_id_only() -> None:
    def make(**extra: object) -> str:
        return create_command(
            pb.CreateParticipantRequest(
                parent=f"accounts/{AC}/conferences/room",
                from_endpoint="+15005550006",
                to_endpoint="+15551234567",
                **extra,  # type: ignore[arg-type]
            ),
            ConferenceRef(AC, "room"),
        ).fingerprint

    assert make(request_id="a") == make(request_id="b")
    assert make(muted=True) != make(muted=False)


def test_update_presence() -> None:
    cmd = update_command(pb.UpdateParticipantRequest(name="x", muted=False, wait_url=""))
    assert cmd.muted is False
    assert cmd.hold is None
    assert cmd.wait_url == ""
    assert cmd.announce_url is None
