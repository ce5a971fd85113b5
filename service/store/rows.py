"""Row encoding both SQL stores share: JSON columns and participant rows.

Rule 1: a participant row is (seq, data), its creation order and its JSON, in SQLite
        and PostgreSQL alike.
Rule 2: both adapters decode and encode it here, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.core.events import Event
from service.core.records import Conference, Participant

PARTICIPANT_COLUMNS = "seq, data"


def dumps(value: Conference | Participant | Event) -> str:
    """A model object's JSON column: orjson writes a dataclass field for field,
    enums as their values, exactly as json of its to_dict() (checked by the
    tests), without building the dict first. A participant's `seq` in it is
    not read back: the seq column is the truth (participant_from_row)."""
    return orjson.dumps(value).decode()


def participant_from_row(row: Any) -> Participant:
    data = orjson.loads(row[1])
    data["seq"] = row[0]
    return Participant.from_dict(data)


def is_call_sid(key: str) -> bool:
    return len(key) == 34 and key.startswith("CA")


def event_values(event: Event) -> tuple[Any, ...]:
    """An events row's columns (conference_sid, revision, account_sid, time,
    type, call_sid, data), the same in both stores."""
    return (
        event.conference_sid,
        event.revision,
        event.account_sid,
        event.time,
        event.type.value,
        None if event.participant is None else event.participant.call_sid,
        dumps(event),
    )
