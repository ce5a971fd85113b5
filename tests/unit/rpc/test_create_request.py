"""Create's checks and defaults (service.rpc.create_request): Twilio's defaults,
coaching as a whisper, and a fingerprint that ignores request_id."""

from __future__ import annotations

from rollcall.v1 import participant_service_pb2 as pb
from service.core.commands import ConferenceRef
from service.core.statuses import Role
from service.rpc.create_request import create_command

AC = "AC" + "a" * 32


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
