"""A connected participant numbered n (its call SID made of n) in one conference of
one account, for tests of what reads and caches make of participants."""

from __future__ import annotations

import dataclasses
from typing import Any

from service.core.records import Participant
from service.core.statuses import CallStatus, ParticipantStatus

ACCOUNT = "AC" + "a" * 32
CONFERENCE = "CF" + "b" * 32


def participant(n: int, **fields: Any) -> Participant:
    p = Participant(
        call_sid=f"CA{n:032x}", account_sid=ACCOUNT, conference_sid=CONFERENCE,
        conference_friendly_name="room", label=None, status=ParticipantStatus.CONNECTED,
        call_status=CallStatus.IN_PROGRESS, from_endpoint="+1", to_endpoint="+2",
        date_created=0.0, date_updated=0.0, revision=1,
    )  # fmt: skip
    return dataclasses.replace(p, **fields)
