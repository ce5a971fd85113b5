"""Errors of participants, conferences and dead letters: not found, changes refused.

Rule 1: a missing resource is NOT_FOUND with Twilio's 20404, its name echoed
in the message and in ErrorInfo metadata.
Rule 2: a change the resource's state refuses changes nothing; it carries
Twilio's code for that refusal where Twilio has one (16020-16028, 21220,
212xx), else none and its own HTTP status (412 for a stale etag).
"""

from __future__ import annotations

from service.core.errors.rollcall_error import (
    Code,
    FieldViolation,
    RollcallError,
    echo,
    invalid,
)


def not_found(what: str, reason: str = "NOT_FOUND") -> RollcallError:
    return RollcallError(
        Code.NOT_FOUND,
        reason,
        f"The requested resource {echo(what)} was not found",
        twilio_code=20404,
        http_status=404,
        metadata={"resource": echo(what)},
    )


# The reason of call_gone(): the carrier answered that the call is not in
# its conference any more (Twilio: 404 on the participant).
CALL_GONE = "CARRIER_CALL_GONE"


def call_gone(call_sid: str) -> RollcallError:
    """The carrier no longer has the call in its conference: the change is
    refused, and the participant is ended as the carrier says."""
    return RollcallError(
        Code.NOT_FOUND,
        CALL_GONE,
        f"The call {echo(call_sid)} has already left the conference at the carrier",
        twilio_code=20404,
        http_status=404,
        metadata={"call_sid": echo(call_sid)},
    )


def participant_not_found(name: str) -> RollcallError:
    return not_found(name, "PARTICIPANT_NOT_FOUND")


def conference_not_found(name: str) -> RollcallError:
    return not_found(name, "CONFERENCE_NOT_FOUND")


def conference_not_active(conference_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CONFERENCE_NOT_ACTIVE",
        f"Conference {conference_sid} does not exist or is completed",
        twilio_code=16022,
        http_status=400,
    )


def conference_full(conference_sid: str, max_participants: int) -> RollcallError:
    return RollcallError(
        Code.RESOURCE_EXHAUSTED,
        "CONFERENCE_FULL",
        f"Conference {conference_sid} is full ({max_participants} participants)",
        twilio_code=16020,
        http_status=400,
        metadata={"max_participants": str(max_participants)},
    )


def label_in_use(label: str) -> RollcallError:
    return RollcallError(
        Code.ALREADY_EXISTS,
        "LABEL_IN_USE",
        f"Participant label {echo(label)!r} is in use by another participant",
        twilio_code=16026,
        http_status=400,
        violations=(FieldViolation("label", "in use by another active participant", 16026),),
    )


def coach_target_absent(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "COACH_TARGET_NOT_PRESENT",
        f"Participant to be coached {call_sid} is not present in the conference",
        twilio_code=16028,
        http_status=400,
        violations=(FieldViolation("call_sid_to_coach", "not an active participant here", 16028),),
    )


def coach_target_on_hold(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "COACH_TARGET_ON_HOLD",
        f"Participant to be coached {call_sid} is on hold",
        twilio_code=16027,
        http_status=400,
    )


def participant_not_active(call_sid: str) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "PARTICIPANT_NOT_ACTIVE",
        f"Participant {call_sid} is not in progress (its call has ended)",
        twilio_code=21220,
        http_status=400,
    )


def etag_mismatch(expected: str, actual: str) -> RollcallError:
    return RollcallError(
        Code.ABORTED,
        "ETAG_MISMATCH",
        f"etag {echo(expected)} does not match the participant's current etag {actual}",
        twilio_code=None,
        http_status=412,
        metadata={"current_etag": actual},
    )


def carrier_contention() -> RollcallError:
    """The participant kept changing while the carrier carried this change out."""
    return RollcallError(
        Code.ABORTED,
        "CARRIER_CONTENTION",
        "the participant kept changing while the carrier carried out this change; retry",
        twilio_code=None,
        http_status=409,
    )


def request_id_reused() -> RollcallError:
    return RollcallError(
        Code.INVALID_ARGUMENT,
        "REQUEST_ID_REUSED",
        "request_id was already used for a different request",
        twilio_code=None,
        http_status=422,
        violations=(FieldViolation("request_id", "already used with other parameters", 0),),
    )


def dial_rejected(field: str, twilio_code: int, message: str) -> RollcallError:
    """The carrier refused the destination or caller ID (Twilio's 212xx codes)."""
    return invalid([FieldViolation(field, message, twilio_code)])


def callback_destination_refused(refused: int, delivered: int, remaining: int) -> RollcallError:
    """Redelivery found dead letters whose host the callback destination policy
    refuses: they were not sent (nor connected to) and are kept."""
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CALLBACK_DESTINATION_NOT_ALLOWED",
        f"{refused} dead letter(s) not redelivered: their host is not an allowed callback"
        f" destination (ROLLCALL_CALLBACK_ALLOW_NETWORKS/ROLLCALL_CALLBACK_DENY_NETWORKS);"
        f" they are kept. {delivered} delivered, {remaining} remaining",
        twilio_code=21205,
        http_status=400,
        metadata={
            "refused": str(refused),
            "delivered": str(delivered),
            "remaining": str(remaining),
        },
    )
