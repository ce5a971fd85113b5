"""Update, decided without I/O beyond its reads: new values, their events, the carrier's effects.

Rule 1: only a value that differs from the participant's current one is a change
        (an event, and an effect when it touches the media); an announce_url is
        always one (played again, even when the same).
Rule 2: an ended participant is refused (FAILED_PRECONDITION); a role and its
        whisper targets follow service.core.roles (Twilio's coaching is a
        whisper to one target).
Rule 3: `decide` can run again on fresher state (after the carrier has acted) and
        yields what still differs; nothing here writes or calls the carrier.
Rule 4: no setting is recorded without taking effect at the carrier: the hold
        music (hold_url, hold_method) and announce_method stored on the
        participant go with its next hold or announcement, and new hold music
        for a call already held is sent at once, with Hold.
Rule 5: attributes merge or are replaced (service.core.attributes); a change
        of them is a participant-modify with no effect at the carrier.
"""

from __future__ import annotations

from service.core import attributes, errors, roles
from service.core.changes import Changes
from service.core.commands import UpdateCommand
from service.core.events import EventType
from service.core.ports.carrier import (
    Announce,
    BeepOnExit,
    EndConferenceOnExit,
    Hold,
    Mute,
    ParticipantChange,
    SetRole,
    Wait,
)
from service.core.ports.store import WriteTransaction
from service.core.records import Conference, Participant
from service.core.statuses import Role

# Settings an Update changes on the participant row (their effects: _effect).
_SETTINGS = (
    "hold_url",
    "hold_method",
    "wait_url",
    "wait_method",
    "beep_on_exit",
    "end_conference_on_exit",
    "announce_method",
)


async def decide(
    tx: WriteTransaction,
    ch: Changes,
    conf: Conference,
    p: Participant,
    cmd: UpdateCommand,
    *,
    announcement_reported: bool,
    whisper_limit: int | None,
) -> tuple[ParticipantChange, ...]:
    """Change `p` as `cmd` says, emitting into `ch`; returns the carrier effects.

    announcement_reported: the carrier reports an announcement's end (then
    ANNOUNCEMENT_ENDED comes from that report, not from here).
    whisper_limit: the carrier's (more whisper targets are refused).
    """
    if not p.active:
        raise errors.participant_not_active(p.call_sid)
    effects: list[ParticipantChange] = []
    wanted = await _role(tx, conf, p, cmd, whisper_limit)
    if wanted is not None:
        muted = roles.muted_after(p.role, wanted.role, p.muted, cmd.muted)
        roles.apply(p, wanted, muted)
        effects.append(SetRole(wanted.role, wanted.whisper_targets, muted))
        ch.emit(EventType.PARTICIPANT_ROLE_CHANGED, p)
    elif p.role is Role.MONITOR and cmd.muted is False:
        raise roles.role_forbids_unmute()
    elif cmd.muted is not None and cmd.muted != p.muted:
        p.muted = cmd.muted
        effects.append(Mute(p.muted))
        ch.emit(EventType.PARTICIPANT_MUTED if p.muted else EventType.PARTICIPANT_UNMUTED, p)
    if cmd.hold is not None and cmd.hold != p.hold:
        p.hold = cmd.hold
        if cmd.hold_url is not None:
            p.hold_url = cmd.hold_url or None
        if cmd.hold_method is not None:
            p.hold_method = cmd.hold_method
        effects.append(_hold(p) if p.hold else Hold(False, cmd.hold_url or None, cmd.hold_method))
        ch.emit(EventType.PARTICIPANT_HELD if p.hold else EventType.PARTICIPANT_UNHELD, p)
    modified = False
    music = False
    for field in _SETTINGS:
        value = getattr(cmd, field)
        if value is not None and getattr(p, field) != value:
            setattr(p, field, value)
            modified = True
            music = music or field in ("hold_url", "hold_method")
            effects.extend(_effect(field, p))
    if music and p.hold:
        # Rule 4: new hold music for a held call is sent with Hold, to take effect now.
        effects.append(_hold(p))
    if cmd.attributes is not None or cmd.replace_attributes:
        changed = attributes.merged(
            p.attributes, cmd.attributes or {}, replace=cmd.replace_attributes
        )
        if changed != p.attributes:
            p.attributes = changed  # Rollcall's record only: no carrier effect
            modified = True
    if modified:
        ch.emit(EventType.PARTICIPANT_MODIFIED, p)
    if cmd.announce_url:
        p.announce_url = cmd.announce_url
        method = cmd.announce_method or _unless_default(p.announce_method, "POST")
        effects.append(Announce(cmd.announce_url, method))
        if not announcement_reported:
            # No carrier report will come: played once the carrier has taken it.
            ch.emit(EventType.ANNOUNCEMENT_ENDED, p)
    return tuple(dict.fromkeys(effects))


async def _role(
    tx: WriteTransaction,
    conf: Conference,
    p: Participant,
    cmd: UpdateCommand,
    whisper_limit: int | None,
) -> roles.Wanted | None:
    """The role `cmd` asks for, checked; None when the role stays as it is."""
    twilio = cmd.coaching is not None or cmd.call_sid_to_coach is not None
    wanted: roles.Wanted | None
    if cmd.role is not None:
        if twilio:
            raise errors.invalid_field("role", "set either role or coaching, not both")
        wanted = roles.Wanted(cmd.role, cmd.whisper_targets)
    elif twilio:
        wanted = _coaching(p, cmd)
        if wanted is None:
            return None
    else:
        return None
    if wanted == roles.Wanted(p.role, p.whisper_targets):
        return None
    roles.check_shape(wanted, whisper_limit, p.call_sid)
    for target in wanted.whisper_targets:
        if target not in p.whisper_targets or p.role is not Role.WHISPER:
            roles.check_target(await tx.active_participant(conf.sid, target), target)
    return wanted


def _coaching(p: Participant, cmd: UpdateCommand) -> roles.Wanted | None:
    """Twilio's Coaching / CallSidToCoach as a role; None: the role stays (a
    Coaching=false for a participant that does not whisper)."""
    coaching = p.coaching if cmd.coaching is None else cmd.coaching
    coach_target = p.call_sid_to_coach
    if cmd.call_sid_to_coach is not None:
        coach_target = cmd.call_sid_to_coach or None
        if cmd.coaching is None and coach_target:
            coaching = True
    if not coaching:
        return roles.Wanted(Role.NONE) if p.role is Role.WHISPER else None
    if not coach_target:
        raise errors.invalid_field("call_sid_to_coach", "required when coaching is true", 16028)
    if p.role is Role.WHISPER and cmd.call_sid_to_coach is None:
        return None  # Coaching=true for a whisper: it stays as it is
    return roles.Wanted(Role.WHISPER, (coach_target,))


def _unless_default(value: str, default: str) -> str | None:
    """A stored method, when it is not Twilio's default (which needs no sending)."""
    return None if value == default else value


def _hold(p: Participant) -> Hold:
    """Hold, with the participant's hold music as stored (Rule 4)."""
    return Hold(True, p.hold_url, _unless_default(p.hold_method, "GET"))


def _effect(field: str, p: Participant) -> list[ParticipantChange]:
    """The carrier effect of a changed participant setting (none for local-only ones)."""
    if field in ("wait_url", "wait_method"):
        return [Wait(p.wait_url, p.wait_method)]
    if field == "beep_on_exit":
        return [BeepOnExit(bool(p.beep_on_exit))]
    if field == "end_conference_on_exit":
        return [EndConferenceOnExit(p.end_conference_on_exit)]
    return []
