"""Python clients for Rollcall's ParticipantService, and the `rollcall` CLI.

Rule 1: AsyncRollcallClient is the one place that turns Python arguments into
requests and failures into RollcallClientError; RollcallClient (sync) and the
CLI only delegate to it.
Rule 2: watch() yields the items of clients.watch_items, which
ConferenceState turns into current participants.
Rule 3: enum values are Twilio's words, from clients.words.
"""

from clients.client import AsyncRollcallClient
from clients.errors import FieldViolation, RollcallClientError
from clients.fields import CreateFields, UpdateFields
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
    "AsyncRollcallClient",
    "ConferenceState",
    "CreateFields",
    "EventItem",
    "FieldViolation",
    "InitialParticipant",
    "InitialStateComplete",
    "ProgressItem",
    "Reconnected",
    "RollcallClient",
    "RollcallClientError",
    "UpdateFields",
    "WatchItem",
    "enum_number",
    "enum_word",
    "enum_words",
    "event_type_number",
    "event_type_word",
]
