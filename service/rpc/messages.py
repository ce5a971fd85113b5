"""Domain objects -> rollcall.v1 messages.

The rule it keeps: one function per message, used by every face (gRPC, REST
gateway, watch stream), so a participant looks the same wherever it is read.
"""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.model import (
    CallStatus,
    Conference,
    ConferenceStatus,
    EndReason,
    Event,
    EventType,
    LeaveReason,
    Participant,
    ParticipantStatus,
)
from service.rpc import names


def _enum_map(words: type, proto_enum: object, prefix: str) -> dict[object, int]:
    values = {}
    for member in words:  # type: ignore[attr-defined]
        if member.value == "":
            values[member] = 0
            continue
        number = getattr(proto_enum, prefix + member.name, None)
        if number is not None:  # CallStatus.INITIATED: never a participant's
            values[member] = number
    return values


_STATUS = _enum_map(ParticipantStatus, ppb, "PARTICIPANT_STATUS_")
_CALL_STATUS = _enum_map(CallStatus, ppb, "CALL_STATUS_")
_LEAVE = _enum_map(LeaveReason, ppb, "PARTICIPANT_LEAVE_REASON_")
_CONF_STATUS = _enum_map(ConferenceStatus, ppb, "CONFERENCE_STATUS_")
_END_REASON = {
    EndReason.NONE: ppb.CONFERENCE_END_REASON_UNSPECIFIED,
    EndReason.CONFERENCE_ENDED_VIA_API: ppb.CONFERENCE_END_REASON_CONFERENCE_ENDED_VIA_API,
    EndReason.LAST_PARTICIPANT_KICKED: ppb.CONFERENCE_END_REASON_LAST_PARTICIPANT_KICKED,
    EndReason.LAST_PARTICIPANT_LEFT: ppb.CONFERENCE_END_REASON_LAST_PARTICIPANT_LEFT,
    EndReason.EOE_KICKED: (
        ppb.CONFERENCE_END_REASON_PARTICIPANT_WITH_END_CONFERENCE_ON_EXIT_KICKED
    ),
    EndReason.EOE_LEFT: ppb.CONFERENCE_END_REASON_PARTICIPANT_WITH_END_CONFERENCE_ON_EXIT_LEFT,
}
EVENT_TYPES = {kind: getattr(pb, "CONFERENCE_EVENT_TYPE_" + kind.name) for kind in EventType}


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
    )
    if p.label is not None:
        message.label = p.label
    if p.call_sid_to_coach:
        message.call_sid_to_coach = p.call_sid_to_coach
    if queue_time_ms is not None:
        message.queue_time_ms = round(queue_time_ms)
    return message


def conference(c: Conference) -> ppb.Conference:
    message = ppb.Conference(
        name=names.conference_name(c.account_sid, c.sid),
        account_sid=c.account_sid,
        conference_sid=c.sid,
        friendly_name=c.friendly_name,
        status=_CONF_STATUS[c.status],  # type: ignore[arg-type]
        revision=c.revision,
        max_participants=c.max_participants,
        date_created=timestamp(c.date_created),
        date_updated=timestamp(c.date_updated),
        end_reason=_END_REASON[c.end_reason],
        region=region(c),
    )
    if c.call_sid_ending_conference:
        message.call_sid_ending_conference = c.call_sid_ending_conference
    return message


def region(c: Conference) -> str:
    """The first participant's Region, else us1."""
    return c.region or "us1"


def event(e: Event) -> pb.ConferenceEvent:
    message = pb.ConferenceEvent(
        revision=e.revision,
        time=timestamp(e.time),
        type=EVENT_TYPES[e.type],
        conference=conference(e.conference),
    )
    if e.participant is not None:
        message.participant.CopyFrom(participant(e.participant))
    return message
