"""Field bounds: every string and repeated field of every request has one."""

from __future__ import annotations

from rollcall.v1 import callback_service_pb2 as callback_pb
from rollcall.v1 import conference_service_pb2 as conference_pb
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core import errors
from service.rpc import limits

REQUESTS = (
    pb.CreateParticipantRequest,
    pb.UpdateParticipantRequest,
    pb.FetchParticipantRequest,
    pb.ListParticipantsRequest,
    pb.DeleteParticipantRequest,
    pb.WatchConferenceRequest,
    conference_pb.ListConferencesRequest,
    conference_pb.FetchConferenceRequest,
    conference_pb.UpdateConferenceRequest,
    callback_pb.ListDeadLettersRequest,
    callback_pb.RedeliverDeadLettersRequest,
)


def test_every_string_field_is_in_the_documented_table() -> None:
    for kind in REQUESTS:
        for field in kind.DESCRIPTOR.fields:
            if field.type == field.TYPE_STRING:
                assert field.name in limits.STRING_MAX, (kind.__name__, field.name)


def test_at_the_limit_passes_and_one_over_fails() -> None:
    for kind in REQUESTS:
        for field in kind.DESCRIPTOR.fields:
            if field.type != field.TYPE_STRING:
                continue
            limit = limits.STRING_MAX[field.name][0]
            for size, bad in ((limit, False), (limit + 1, True)):
                message = kind()
                if field.is_repeated:
                    getattr(message, field.name).append("x" * size)
                else:
                    setattr(message, field.name, "x" * size)
                assert bool(limits.violations(message)) is bad, (kind.__name__, field.name, size)


def test_repeated_fields_are_counted() -> None:
    request = pb.CreateParticipantRequest()
    request.status_callback_event.extend(
        [enums_pb2.CALL_EVENT_INITIATED] * (limits.DEFAULT_COUNT + 1)
    )
    (violation,) = limits.violations(request)
    assert violation.field == "status_callback_event"
    watch = pb.WatchConferenceRequest(participants=["p"] * 251)
    assert [v.field for v in limits.violations(watch)] == ["participants"]


def test_errors_echo_a_bounded_value() -> None:
    error = errors.participant_not_found("participant " + "k" * 9000)
    assert len(error.message) < 250 and len(error.metadata["resource"]) <= errors.ECHO_MAX
    stale = errors.etag_mismatch("e" * 9000, '"3"')
    assert len(stale.message) < 250
