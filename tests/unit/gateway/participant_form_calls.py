"""The Participant forms as the gateway's unit tests call them
(service.gateway.participant_forms): a form from wire pairs, a Create parsed
from one, and the error a bad one raises."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import RollcallError
from service.gateway import participant_forms

PARENT = "accounts/AC" + "a" * 32 + "/conferences/CF" + "b" * 32
NAME = PARENT + "/participants/agent one"


def form(*pairs: tuple[str, str]) -> MultiDict[str]:
    return MultiDict(pairs)


def create(*pairs: tuple[str, str]) -> pb.CreateParticipantRequest:
    return participant_forms.parse_create(form(*pairs), parent=PARENT)


def create_error(*pairs: tuple[str, str]) -> RollcallError:
    with pytest.raises(RollcallError) as caught:
        create(*pairs)
    return caught.value
