"""The domain's enums and the API's enums spell every value with the same Twilio word.

The core imports no proto, so its enums (service.core.statuses, and EventType
and AlertKind beside the records they type) carry their own Twilio words;
clients.words derives the API's from the proto enums. The faces map one onto
the other by word (service.rpc.messages.by_word), so the two word lists must be
the same, value for value.
"""

from __future__ import annotations

import enum

import pytest
from google.protobuf.descriptor import EnumDescriptor

from clients.words import enum_words
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.events import EventType
from service.core.records import AlertKind
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
)

PAIRS: list[tuple[type[enum.StrEnum], EnumDescriptor, set[str]]] = [
    (ParticipantStatus, ppb.ParticipantStatus.DESCRIPTOR, set()),
    # A participant's call status is never `initiated`; carriers report it.
    (CallStatus, ppb.CallStatus.DESCRIPTOR, {"initiated"}),
    (LeaveReason, ppb.ParticipantLeaveReason.DESCRIPTOR, set()),
    (ConferenceStatus, ppb.ConferenceStatus.DESCRIPTOR, set()),
    (EndReason, ppb.ConferenceEndReason.DESCRIPTOR, set()),
    (EventType, pb.ConferenceEventType.DESCRIPTOR, set()),
    (AlertKind, pb.AlertKind.DESCRIPTOR, set()),
]


@pytest.mark.parametrize(("domain", "api", "domain_only"), PAIRS, ids=lambda p: str(p))
def test_the_domain_and_the_api_share_every_word(
    domain: type[enum.StrEnum], api: EnumDescriptor, domain_only: set[str]
) -> None:
    words = [member.value for member in domain if member.value]
    assert [w for w in words if w not in domain_only] == enum_words(api)
