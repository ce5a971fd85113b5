"""Python clients for Rollcall's ParticipantService, and the `rollcall` CLI.

The rule it keeps: AsyncRollcallClient is the one place that turns Python
arguments into requests and failures into RollcallClientError; RollcallClient
(sync) and the CLI only delegate to it.
"""

from clients.client import AsyncRollcallClient
from clients.enums import enum_number, enum_word, enum_words
from clients.errors import FieldViolation, RollcallClientError
from clients.fields import CreateFields, UpdateFields
from clients.sync import RollcallClient

__all__ = [
    "AsyncRollcallClient",
    "CreateFields",
    "FieldViolation",
    "RollcallClient",
    "RollcallClientError",
    "UpdateFields",
    "enum_number",
    "enum_word",
    "enum_words",
]
