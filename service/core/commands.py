"""What the faces ask of the core: a conference reference and the Create and Update commands.

Rule 1: a command carries values in the domain's own words and types (Twilio's
        words, StatusCallback), never a proto message, so the core reads no wire
        format.
Rule 2: a command reaches the core already checked field by field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from service.core.records import AlertRules, StatusCallback
from service.core.statuses import Role


@dataclasses.dataclass(frozen=True)
class ConferenceRef:
    """A conference named by SID or by friendly name, within an account."""

    account_sid: str
    key: str

    @property
    def is_sid(self) -> bool:
        return len(self.key) == 34 and self.key.startswith("CF")


@dataclasses.dataclass(frozen=True)
class CreateCommand:
    conference: ConferenceRef
    from_endpoint: str
    to_endpoint: str
    label: str | None
    muted: bool
    start_conference_on_enter: bool
    end_conference_on_exit: bool
    wait_url: str | None
    wait_method: str
    timeout: int
    time_limit: int
    max_participants: int
    # Conference-level settings (only the first participant's are used).
    conference_settings: dict[str, Any]
    # Every other Create parameter, kept with the participant.
    settings: dict[str, Any]
    status_callback: StatusCallback = dataclasses.field(default_factory=StatusCallback)
    # The conference's (only the first participant's are used).
    conference_status_callback: StatusCallback = dataclasses.field(default_factory=StatusCallback)
    region: str = ""
    # The supervisor role (a coach is a whisper to call_sid_to_coach).
    role: Role = Role.NONE
    whisper_targets: tuple[str, ...] = ()
    request_id: str = ""
    fingerprint: str = ""
    # The tenant's attributes (service.core.attributes); never the carrier's.
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    # A new conference's alert rules (service.core.alerts); None: the account's.
    alerts: AlertRules | None = None


@dataclasses.dataclass(frozen=True)
class UpdateCommand:
    muted: bool | None = None
    hold: bool | None = None
    hold_url: str | None = None
    hold_method: str | None = None
    announce_url: str | None = None
    announce_method: str | None = None
    wait_url: str | None = None
    wait_method: str | None = None
    beep_on_exit: bool | None = None
    end_conference_on_exit: bool | None = None
    coaching: bool | None = None
    call_sid_to_coach: str | None = None
    # None: the role stays (or follows coaching / call_sid_to_coach).
    role: Role | None = None
    whisper_targets: tuple[str, ...] = ()
    etag: str = ""
    # Merged into the participant's (service.core.attributes, Rule 2); None: untouched.
    attributes: dict[str, str] | None = None
    replace_attributes: bool = False
