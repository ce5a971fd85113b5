"""Domain objects -> rollcall.v1 messages.

Rule 1: one function per message, used by every face (gRPC, REST gateway,
watch stream), so a participant looks the same wherever it is read.
Rule 2: a domain value becomes the proto value that has the same Twilio word
(clients.words), so the domain and the API cannot disagree on a word: a word
one of them lacks fails at import.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TypeVar

from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import EnumDescriptor

from clients.words import words_by_number
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.actors import Actor, ActorKind
from service.core.events import Event, EventType
from service.core.records import Alert, AlertKind, Conference, Participant
from service.core.statuses import (
    CallStatus,
    ConferenceStatus,
    EndReason,
    LeaveReason,
    ParticipantStatus,
    Role,
)
from service.rpc import names

E = TypeVar("E", bound=enum.StrEnum)


def by_word(values: type[E], proto: EnumDescriptor, *, absent: Iterable[E] = ()) -> dict[E, int]:
    """Domain value -> proto number, matched by Twilio's word; "" is the
    unspecified value; `absent` names the values the API has no word for."""
    numbers = {word: number for number, word in words_by_number(proto).items()}
    skip = frozenset(absent)
    return {v: numbers[v.value] if v.value else 0 for v in values if v not in skip}


# A participant's call status is never `initiated` (see CallStatus).
_CALL_STATUS = by_word(CallStatus, ppb.CallStatus.DESCRIPTOR, absent=[CallStatus.INITIATED])
_STATUS = by_word(ParticipantStatus, ppb.ParticipantStatus.DESCRIPTOR)
_LEAVE = by_word(LeaveReason, ppb.ParticipantLeaveReason.DESCRIPTOR)
ROLES = by_word(Role, enums_pb2.ParticipantRole.DESCRIPTOR)
CONFERENCE_STATUSES = by_word(ConferenceStatus, ppb.ConferenceStatus.DESCRIPTOR)
_END_REASON = by_word(EndReason, ppb.ConferenceEndReason.DESCRIPTOR)
EVENT_TYPES = by_word(EventType, pb.ConferenceEventType.DESCRIPTOR)
# HTTP method number -> GET or POST.
METHODS = words_by_number(enums_pb2.HttpMethod.DESCRIPTOR)
# Twilio's default Region, for a conference whose first participant chose none.
DEFAULT_REGION = words_by_number(enums_pb2.Region.DESCRIPTOR)[enums_pb2.REGION_US1]


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    whole = int(seconds)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=round((seconds - whole) * 1e9))


def participant(p: Participant, queue_time_ms: float | None = None) -> ppb.Participant:
    message = ppb.Participant(
        name=names.participant_name(p.account_sid, p.conference_sid, p.call_sid),
        account_sid=p.account_sid,
        call_sid=p.call_sid,
        conference_sid=p.conference_sid,
        date_created=timestamp(p.date_created),
        date_updated=timestamp(p.date_updated),
        end_conference_on_exit=p.end_conference_on_exit,
        muted=p.muted,
        hold=p.hold,
        status=_STATUS[p.status],  # type: ignore[arg-type]
        start_conference_on_enter=p.start_conference_on_enter,
        coaching=p.coaching,
        revision=p.revision,
        etag=p.etag,
        call_status=_CALL_STATUS[p.call_status],  # type: ignore[arg-type]
        leave_reason=_LEAVE[p.leave_reason],  # type: ignore[arg-type]
        from_endpoint=p.from_endpoint,
        to_endpoint=p.to_endpoint,
        conference_friendly_name=p.conference_friendly_name,
        role=ROLES[p.role],  # type: ignore[arg-type]
        whisper_targets=p.whisper_targets,
    )
    if p.label is not None:
        message.label = p.label
    if p.call_sid_to_coach:
        message.call_sid_to_coach = p.call_sid_to_coach
    if queue_time_ms is not None:
        message.queue_time_ms = round(queue_time_ms)
    _clocks(message, p)
    return message


def _clocks(message: ppb.Participant, p: Participant) -> None:
    """Issue 24's fields: clocks, answering machine result, speech, attributes."""
    message.queue_seconds = p.queue_seconds
    message.ring_seconds = p.ring_seconds
    message.talk_seconds = p.talk_seconds
    message.hold_count = p.hold_count
    message.hold_seconds = p.hold_seconds
    message.mute_count = p.mute_count
    message.mute_seconds = p.mute_seconds
    for name, since in (
        ("queue_since", p.queue_since),
        ("ring_since", p.ring_since),
        ("talk_since", p.talk_since),
        ("hold_since", p.hold_since),
        ("mute_since", p.mute_since),
        ("status_since", p.status_since),
        ("last_spoke_at", p.last_spoke_at),
    ):
        if since is not None:
            getattr(message, name).CopyFrom(timestamp(since))
    if p.answered_by:
        message.answered_by = p.answered_by
    message.speaking = p.speaking
    if p.attributes:
        message.attributes.update(p.attributes)


def conference(c: Conference) -> ppb.Conference:
    message = ppb.Conference(
        name=names.conference_name(c.account_sid, c.sid),
        account_sid=c.account_sid,
        conference_sid=c.sid,
        friendly_name=c.friendly_name,
        status=CONFERENCE_STATUSES[c.status],  # type: ignore[arg-type]
        revision=c.revision,
        max_participants=c.max_participants,
        date_created=timestamp(c.date_created),
        date_updated=timestamp(c.date_updated),
        end_reason=_END_REASON[c.end_reason],  # type: ignore[arg-type]
        region=region(c),
    )
    if c.call_sid_ending_conference:
        message.call_sid_ending_conference = c.call_sid_ending_conference
    return message


def region(c: Conference) -> str:
    """The first participant's Region, else us1."""
    return c.region or DEFAULT_REGION


def event(e: Event) -> pb.ConferenceEvent:
    message = pb.ConferenceEvent(
        revision=e.revision,
        time=timestamp(e.time),
        type=EVENT_TYPES[e.type],  # type: ignore[arg-type]
        conference=conference(e.conference),
    )
    if e.participant is not None:
        message.participant.CopyFrom(participant(e.participant))
    if e.move is not None:
        message.move_id = e.move.id
        message.moved_from_conference_sid = e.move.from_conference
        message.moved_to_conference_sid = e.move.to_conference
    if e.actor is not None:
        message.actor.CopyFrom(actor(e.actor))
    if e.alert is not None:
        message.alert.CopyFrom(alert(e.alert))
    return message


_ALERT_KINDS = by_word(AlertKind, pb.AlertKind.DESCRIPTOR)


def alert(a: Alert) -> pb.Alert:
    message = pb.Alert(
        kind=_ALERT_KINDS[a.kind],  # type: ignore[arg-type]
        threshold_seconds=a.threshold_seconds,
        since=timestamp(a.since),
        ends_conference=a.ends_conference,
    )
    if a.call_sid:
        message.call_sid = a.call_sid
    return message


ACTOR_KINDS = {
    ActorKind.ACCOUNT: pb.ACTOR_KIND_ACCOUNT,
    ActorKind.API_KEY: pb.ACTOR_KIND_API_KEY,
    ActorKind.CARRIER: pb.ACTOR_KIND_CARRIER,
    ActorKind.ROLLCALL: pb.ACTOR_KIND_ROLLCALL,
}


def actor(a: Actor) -> pb.Actor:
    return pb.Actor(
        kind=ACTOR_KINDS[a.kind],
        sid=a.sid,
        rule=a.rule,
        face=a.face,
        peer_address=a.peer,
        forwarded_for=a.forwarded_for,
        request_id=a.request_id,
    )
