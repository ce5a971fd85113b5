"""What a watch stream asked for: which event types, participants and attributes it gets.

Rule 1: a stream that names no event type gets every type but speaking
        events; those come only when named.
Rule 2: a participant is named by its call sid or its label; attributes filter
        by `key=value` (service.core.attributes).
Rule 3: an unknown or unset event type in a request is INVALID_ARGUMENT naming
        event_types.
Rule 4: the snapshot shows a participant by the same participant and
        attribute filters as the live events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rollcall.v1 import participant_service_pb2 as pb
from service.core import attributes, errors
from service.core.events import Event
from service.core.records import Participant
from service.rpc import messages


def wants_type(types: Collection[int], event_type: int) -> bool:
    """Whether a stream asking for `types` gets an event of this type: every
    type when none is named, but speaking events only when named."""
    if types:
        return event_type in types
    return event_type != pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_SPEAKING


class WatchFilter:
    """What one WatchConference stream asked for: event types, participants, attributes."""

    def __init__(self, request: pb.WatchConferenceRequest) -> None:
        self.types = {t for t in request.event_types}
        self.participants = set(request.participants)
        self.attributes = attributes.parse_filter(request.attributes)

    def wants(self, event: Event) -> bool:
        if not wants_type(self.types, messages.EVENT_TYPES[event.type]):
            return False
        p = event.participant
        if (
            self.attributes
            and p is not None
            and not attributes.matches(p.attributes, self.attributes)
        ):
            return False
        if self.participants:
            return p is not None and (
                p.call_sid in self.participants or (p.label or "") in self.participants
            )
        return True

    def shows(self, p: Participant) -> bool:
        """Whether the snapshot shows `p`."""
        if self.attributes and not attributes.matches(p.attributes, self.attributes):
            return False
        return (
            not self.participants
            or p.call_sid in self.participants
            or (p.label or "") in self.participants
        )


def check_types(event_types: Sequence[int]) -> None:
    known = pb.ConferenceEventType.DESCRIPTOR.values_by_number
    if any(t == 0 or t not in known for t in event_types):
        raise errors.invalid_field("event_types", "unknown event type")
