"""Python clients for Rollcall's ParticipantService, and the `rollcall` CLI.

Rule 1: AsyncRollcallClient is the one place that turns Python arguments into
requests and failures into RollcallClientError; RollcallClient (sync) and the
CLI only delegate to it.
Rule 2: watch() yields the items of clients.watch_items, which
ConferenceState turns into current participants; watch_account() yields
those of clients.floor, which FloorState turns into the account's live
conferences and their participants.
Rule 3: enum values are Twilio's words, from clients.words.
"""

from clients.client import AsyncRollcallClient
from clients.errors import FieldViolation, RollcallClientError
from clients.fields import CreateFields, UpdateFields
from clients.floor import (
    AccountEvent,
    AccountItem,
    AccountProgress,
    ConferenceSnapshot,
    FloorState,
    SnapshotComplete,
)
from clients.sync import RollcallClient
from clients.watch_items import (
    ConferenceState,
    EventItem,
    InitialParticipant,
    InitialStateComplete,
    ProgressItem,
    Reconnected,
    WatchItem,
    event_type_number,
    event_type_word,
)
from clients.words import enum_number, enum_word, enum_words

__all__ = [
    "AccountEvent",
    "AccountItem",
    "AccountProgress",
    "AsyncRollcallClient",
    "ConferenceSnapshot",
    "ConferenceState",
    "CreateFields",
    "EventItem",
    "FieldViolation",
    "FloorState",
    "InitialParticipant",
    "InitialStateComplete",
    "ProgressItem",
    "Reconnected",
    "RollcallClient",
    "RollcallClientError",
    "SnapshotComplete",
    "UpdateFields",
    "WatchItem",
    "enum_number",
    "enum_word",
    "enum_words",
    "event_type_number",
    "event_type_word",
]
