"""Supervisor roles: what a request asks of a participant's role, checked and applied.

Rule 1: a role is none, monitor, whisper (to one or more whisper targets:
        other active participants of the same conference, not on hold) or
        barge. coaching / call_sid_to_coach are its Twilio view: Twilio's
        Coaching with CallSidToCoach asks for a whisper to that one target,
        Coaching=false ends a whisper, and call_sid_to_coach shows a whisper's
        first target.
Rule 2: a monitor is heard by no one, so it is muted: becoming monitor mutes,
        and muted=false for a monitor is refused (ROLE_FORBIDS_UNMUTE). Barge
        is heard by everyone: becoming barge unmutes unless the same request
        says muted=true. Leaving monitor unmutes unless the same request says
        muted. Otherwise muted is the participant's own and silences any role.
Rule 3: more whisper targets than the carrier can carry (its whisper_limit)
        are refused before anything changes (CARRIER_WHISPER_LIMIT).
Rule 4: a change of role or of whisper targets is one event
        (PARTICIPANT_ROLE_CHANGED) and one carrier effect (SetRole, with the
        muted it implies); the mute it implies is no event of its own.
Rule 5: nothing here does I/O beyond the reads of a request's whisper targets.
"""

from __future__ import annotations

import dataclasses

from service.core import errors
from service.core.errors import Code, FieldViolation, RollcallError
from service.core.records import Participant
from service.core.statuses import Role


@dataclasses.dataclass(frozen=True)
class Wanted:
    """The role a request asks for, and its whisper targets."""

    role: Role
    whisper_targets: tuple[str, ...] = ()


def from_coaching(coaching: bool, call_sid_to_coach: str | None) -> Wanted:
    """Twilio's Coaching / CallSidToCoach as a role (Rule 1)."""
    if coaching and call_sid_to_coach:
        return Wanted(Role.WHISPER, (call_sid_to_coach,))
    return Wanted(Role.NONE)


def check_shape(wanted: Wanted, whisper_limit: int | None, own_call_sid: str | None) -> None:
    """Targets given only for a whisper, at least one, distinct, not itself,
    and no more than the carrier can carry (Rule 3)."""
    targets = wanted.whisper_targets
    if wanted.role is Role.WHISPER:
        if not targets:
            raise errors.invalid_field("whisper_targets", "a whisper needs at least one target")
        if len(set(targets)) != len(targets):
            raise errors.invalid_field("whisper_targets", "each target once")
        if own_call_sid is not None and own_call_sid in targets:
            raise errors.coach_target_absent(own_call_sid)  # it is not another participant
        if whisper_limit is not None and len(targets) > whisper_limit:
            raise whisper_limit_exceeded(len(targets), whisper_limit)
    elif targets:
        raise errors.invalid_field("whisper_targets", "only a whisper has whisper targets")


def check_target(found: Participant | None, target: str) -> None:
    """A whisper target must be an active participant here, not on hold
    (Twilio's 16028 / 16027 for its one coached call)."""
    if found is None:
        raise errors.coach_target_absent(target)
    if found.hold:
        raise errors.coach_target_on_hold(target)


def muted_after(old: Role, new: Role, muted: bool, asked: bool | None) -> bool:
    """Whether the participant is muted once its role is `new` (Rule 2);
    `asked`: the muted the same request sets, if any."""
    if new is Role.MONITOR:
        if asked is False:
            raise role_forbids_unmute()
        return True
    if asked is not None:
        return asked
    if new is Role.BARGE and old is not Role.BARGE:
        return False
    if old is Role.MONITOR:
        return False
    return muted


def apply(p: Participant, wanted: Wanted, muted: bool) -> None:
    """Set the role and its Twilio view on `p`."""
    p.role = wanted.role
    p.whisper_targets = wanted.whisper_targets
    p.coaching = wanted.role is Role.WHISPER
    p.call_sid_to_coach = wanted.whisper_targets[0] if p.coaching else None
    p.muted = muted


def whisper_limit_exceeded(asked: int, limit: int) -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "CARRIER_WHISPER_LIMIT",
        f"This carrier whispers to at most {limit} participant(s); {asked} were asked for",
        twilio_code=16000,
        http_status=400,
        metadata={"limit": str(limit)},
        violations=(
            FieldViolation("whisper_targets", f"at most {limit} target(s) on this carrier", 16000),
        ),
    )


def role_forbids_unmute() -> RollcallError:
    return RollcallError(
        Code.FAILED_PRECONDITION,
        "ROLE_FORBIDS_UNMUTE",
        "A monitor is heard by no one: change its role (to barge, or none) to unmute it",
        twilio_code=None,
        http_status=400,
        violations=(FieldViolation("muted", "a monitor stays muted"),),
    )
