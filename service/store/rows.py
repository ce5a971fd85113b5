"""Row encoding both SQL stores share: JSON columns and participant rows.

The rule it keeps: a participant row is (seq, data), its creation order and
its JSON, in SQLite and PostgreSQL alike, so both adapters decode and encode
it here and cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.core.model import Participant

PARTICIPANT_COLUMNS = "seq, data"


def dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def participant_from_row(row: Any) -> Participant:
    data = orjson.loads(row[1])
    data["seq"] = row[0]
    return Participant.from_dict(data)


def is_call_sid(key: str) -> bool:
    return len(key) == 34 and key.startswith("CA")
