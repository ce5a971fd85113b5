"""The longest value each request field may carry, for every service.

Rule 1: every string field of every request of every service (ParticipantService,
        ConferenceService, CallbackService) has a maximum length in characters
        (Twilio's where it documents one; the table below is the documented list,
        DEFAULT_MAX for a field added later), every repeated field a maximum count.
Rule 2: a request over any of them is INVALID_ARGUMENT naming each field, checked
        right after authentication, before the request is parsed further.
Rule 3: ParticipantApi, ConferenceApi and CallbackApi check every request
        (WatchConference's included), so both faces enforce these.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.core import errors
from service.core.errors import FieldViolation

URL_MAX = 4096
# A string field not listed below (a field added later) gets this.
DEFAULT_MAX = 1024
# A repeated field not listed below may carry this many values.
DEFAULT_COUNT = 64

URL_FIELDS = (
    "status_callback",
    "wait_url",
    "conference_status_callback",
    "recording_status_callback",
    "conference_recording_status_callback",
    "amd_status_callback",
    "client_notification_url",
    "hold_url",
    "announce_url",
)

# field -> (max characters, Twilio code for a value over it; 0 when none).
STRING_MAX: dict[str, tuple[int, int]] = {
    # accounts/{AC}/conferences/{key up to 256}[/participants/{key up to 128}]
    "parent": (512, 0),
    "name": (512, 0),
    "request_id": (128, 0),
    "etag": (64, 0),
    "page_token": (64, 0),
    "label": (128, 16024),  # Twilio: at most 128 characters
    "from_endpoint": (1024, 21212),  # E.164, client:identity or a SIP URI with headers
    "to_endpoint": (1024, 21211),
    "caller_id": (256, 0),
    "caller_display_name": (255, 0),  # Twilio: 2 to 255 characters
    "sip_auth_username": (255, 21222),  # Twilio: shorter than 256
    "sip_auth_password": (255, 21223),
    "call_sid_to_coach": (34, 0),  # CA + 32 hex
    "whisper_targets": (34, 0),  # CA + 32 hex each
    "byoc": (34, 0),  # BY + 32 hex
    "call_reason": (255, 0),
    "call_token": (4096, 0),
    "participants": (128, 0),  # WatchConference: call SIDs or labels
    "participant_labels": (128, 16024),  # WatchAccount: labels
    "friendly_name_prefix": (256, 0),  # WatchAccount
    "cursor": (65536, 0),  # WatchAccount: see rpc.account_cursor
    "friendly_name": (256, 0),  # ListConferences: a conference's key is at most 256
    "conference_sid": (34, 0),  # CallbackService: CF + 32 hex
    "attributes": (321, 0),  # List and watch filters: key=value (service.core.attributes)
    **{field: (URL_MAX, 21205) for field in URL_FIELDS},
}

# repeated field -> max values.
COUNT_MAX: dict[str, int] = {
    "participants": 250,  # WatchConference, UpdateParticipants
    "participant_labels": 250,
    "whisper_targets": 249,  # everyone else in a full conference
    "attributes": 16,
}


def violations(message: Message) -> list[FieldViolation]:
    """Every field of `message` over its bound."""
    bad: list[FieldViolation] = []
    # Only fields that are set: an unset field is empty, within every bound.
    for field, value in message.ListFields():
        repeated = field.is_repeated
        if repeated:
            most = COUNT_MAX.get(field.name, DEFAULT_COUNT)
            if len(value) > most:
                bad.append(FieldViolation(field.name, f"must not have more than {most} values"))
                continue
        if field.type != FieldDescriptor.TYPE_STRING:
            continue
        limit, code = STRING_MAX.get(field.name, (DEFAULT_MAX, 0))
        values = value if repeated else (value,)
        if any(len(item) > limit for item in values):
            bad.append(FieldViolation(field.name, f"must not exceed {limit} characters", code))
    return bad


def check(message: Message) -> None:
    """INVALID_ARGUMENT when any field of `message` is over its bound."""
    bad = violations(message)
    if bad:
        raise errors.invalid(bad)
