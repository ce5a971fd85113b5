"""Create: decided from its reads, the call placed, then recorded.

Rule 1: the same reads and checks run before the call is placed (so a refusal
        never dials) and again where it is recorded (so what was placed is
        recorded only if it still fits).
Rule 2: a repeated request_id returns the first participant and never dials
        again; the same request_id with other parameters is refused. A
        request_id is kept for its retention window (and never longer than
        its participant): after that the same request_id is a new Create.
Rule 3: with a remote carrier, a placement (the call's key) is durable before
        dialing and forgotten once the call is recorded or known not to ring;
        a process that dies in between leaves it for recovery.
Rule 4: a call placed but not recorded (the conference filled, ended or was
        created meanwhile under another SID, the store failed) is ended at the
        carrier, so it never rings on unrecorded; a Rollcall conference is
        one carrier conference.
Rule 5: the statuses the carrier says the call took while it was placed
        (dialing, ringing) are recorded in the Create's own transaction, as
        the carrier's, at the revisions after the Create's; the Create still
        answers the participant `queued`, at its first revision.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from typing import Protocol

from service.clock import Clock
from service.core import actors, errors, roles, rules
from service.core.changes import Changes
from service.core.commands import ConferenceRef, CreateCommand
from service.core.events import EventType
from service.core.ports.carrier import (
    CallReport,
    CallTarget,
    Carrier,
    Kick,
    PlaceCall,
    Placed,
)
from service.core.ports.store import Store, WriteTransaction
from service.core.records import Conference, Participant, new_sid
from service.core.runtime import Change, Decided, Step
from service.core.statuses import CallStatus, ConferenceStatus, ParticipantStatus, Role

log = logging.getLogger("rollcall.core")

# A Create's answer: the participant and the carrier's queue time in ms (None
# on a repeated request_id); None while its call is still to be placed.
Created = tuple[Participant, float | None]


class ConferenceReader(Protocol):
    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None: ...

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None: ...


async def find_conference(reader: ConferenceReader, ref: ConferenceRef) -> Conference | None:
    """By SID (any status), or the active conference of that friendly name."""
    if ref.is_sid:
        return await reader.conference(ref.account_sid, ref.key)
    return await reader.active_conference_named(ref.account_sid, ref.key)


def call_key(cmd: CreateCommand) -> str:
    """Rollcall's own identity for the call, chosen before it is placed: derived
    from the request_id when there is one (so a retry, even after a restart,
    asks the carrier for the same call), else fresh."""
    if not cmd.request_id:
        return new_sid("RK")
    digest = hashlib.sha256(f"{cmd.conference.account_sid}\n{cmd.request_id}".encode())
    return "RQ" + digest.hexdigest()[:32]


async def decide(
    tx: WriteTransaction,
    cmd: CreateCommand,
    now: float,
    conference_sid: str | None,
    whisper_limit: int | None = None,
) -> tuple[Conference, bool]:
    """The conference this Create joins and whether it is new; raises when it
    may not join. `conference_sid` is the SID a new conference gets (chosen by
    the first decision, so the carrier's conference is named after it);
    whisper_limit: the carrier's (service.core.roles)."""
    wanted = roles.Wanted(cmd.role, cmd.whisper_targets)
    roles.check_shape(wanted, whisper_limit, None)
    existing = await find_conference(tx, cmd.conference)
    count = label_taken = 0
    targets: list[tuple[str, Participant | None]] = []
    if existing is not None:
        count = await tx.count_active(existing.sid)
        if cmd.label is not None:
            label_taken = await tx.active_label_taken(existing.sid, cmd.label)
        for target in cmd.whisper_targets:
            targets.append((target, await tx.active_participant(existing.sid, target)))
    conf = _conference_for_create(existing, cmd, now, conference_sid)
    if count >= conf.max_participants:
        raise errors.conference_full(conf.sid, conf.max_participants)
    if label_taken:
        raise errors.label_in_use(cmd.label or "")
    if existing is None and cmd.whisper_targets:
        raise errors.coach_target_absent(cmd.whisper_targets[0])  # a new conference is empty
    for target, found in targets:
        roles.check_target(found, target)
    return conf, existing is None


def place_call(cmd: CreateCommand, key: str, conference_sid: str) -> PlaceCall:
    """The call to place: the typed fields, and every other Create parameter
    (the settings bags, the region) as sent."""
    parameters = {**cmd.conference_settings, **cmd.settings}
    if cmd.region:
        parameters["region"] = cmd.region
    beep = cmd.settings.get("beep")
    return PlaceCall(
        account_sid=cmd.conference.account_sid,
        key=key,
        conference=conference_sid,
        from_endpoint=cmd.from_endpoint,
        to_endpoint=cmd.to_endpoint,
        timeout_seconds=cmd.timeout,
        time_limit_seconds=cmd.time_limit,
        muted=_muted(cmd),
        start_conference_on_enter=cmd.start_conference_on_enter,
        end_conference_on_exit=cmd.end_conference_on_exit,
        coaching=cmd.role is Role.WHISPER,
        call_sid_to_coach=_coached(cmd),
        role=cmd.role,
        whisper_targets=cmd.whisper_targets,
        wait_url=cmd.wait_url,
        wait_method=cmd.wait_method,
        max_participants=cmd.max_participants,
        beep=str(beep) if beep is not None else "true",
        early_media=bool(cmd.settings.get("early_media", True)),
        parameters=parameters,
    )


def participant(cmd: CreateCommand, conf: Conference, call_sid: str, now: float) -> Participant:
    return Participant(
        call_sid=call_sid,
        account_sid=cmd.conference.account_sid,
        conference_sid=conf.sid,
        conference_friendly_name=conf.friendly_name,
        label=cmd.label,
        status=ParticipantStatus.QUEUED,
        call_status=CallStatus.QUEUED,
        from_endpoint=cmd.from_endpoint,
        to_endpoint=cmd.to_endpoint,
        date_created=now,
        date_updated=now,
        revision=0,
        muted=_muted(cmd),
        coaching=cmd.role is Role.WHISPER,
        call_sid_to_coach=_coached(cmd),
        role=cmd.role,
        whisper_targets=cmd.whisper_targets,
        start_conference_on_enter=cmd.start_conference_on_enter,
        end_conference_on_exit=cmd.end_conference_on_exit,
        wait_url=cmd.wait_url,
        wait_method=cmd.wait_method,
        timeout=cmd.timeout,
        time_limit=cmd.time_limit,
        settings=dict(cmd.settings),
        status_callback=cmd.status_callback,
        attributes=dict(cmd.attributes),
    )


def _conference_for_create(
    existing: Conference | None, cmd: CreateCommand, now: float, sid: str | None
) -> Conference:
    """The conference a Create joins: the one found, or a new one by that name."""
    ref = cmd.conference
    if existing is None and ref.is_sid:
        raise errors.conference_not_found(f"conference {ref.key}")
    if existing is not None:
        if not existing.active:
            raise errors.conference_not_active(existing.sid)
        return existing
    return Conference(
        sid=sid or new_sid("CF"),
        account_sid=ref.account_sid,
        friendly_name=ref.key,
        status=ConferenceStatus.INIT,
        revision=0,
        max_participants=cmd.max_participants,
        date_created=now,
        date_updated=now,
        settings=dict(cmd.conference_settings),
        status_callback=cmd.conference_status_callback,
        region=cmd.region,
        alerts=cmd.alerts,
        empty_since=now,
        no_agent_since=now,
    )


def _muted(cmd: CreateCommand) -> bool:
    """A monitor is muted (service.core.roles, Rule 2)."""
    return True if cmd.role is Role.MONITOR else cmd.muted


def _coached(cmd: CreateCommand) -> str | None:
    """A whisper's first target: its Twilio view, call_sid_to_coach."""
    return cmd.whisper_targets[0] if cmd.role is Role.WHISPER else None


class CreateChange(Change[Created | None]):
    """One Create through the runtime's loop (see the module's rules)."""

    # In process, the Create is decided, placed and recorded in one write
    # transaction, which the store orders; a remote carrier is called between
    # transactions, so Creates of one conference name and request_id go one
    # at a time (a new conference is created, and its carrier conference
    # named, once).
    locks_in_process = False

    def __init__(self, cmd: CreateCommand, clock: Clock, whisper_limit: int | None) -> None:
        self.cmd = cmd
        self.clock = clock
        # The carrier's (service.core.roles, Rule 3).
        self.whisper_limit = whisper_limit
        self.account_sid = cmd.conference.account_sid
        self.locks = tuple(
            f"{kind}:{value}"
            for kind, value in (("conference", cmd.conference.key), ("request", cmd.request_id))
            if value
        )
        self.conference: Conference | None = None
        self.new = False
        self.now = 0.0
        self.key = ""
        # The placement written for the call being placed (Rule 3), if any.
        self.placement: str | None = None
        # The call placed and not recorded yet (Rule 4).
        self.placed: Placed | None = None
        # A placement whose call has been ended: forgotten by the next round.
        self.ended: str | None = None

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[Created | None]:
        if self.ended is not None:
            await tx.forget_placement(self.ended)
            self.ended = None
        repeat = await _repeat(tx, self.cmd)
        placed = self.placed
        if placed is None:
            if repeat is not None:
                return Decided((repeat, None), None)
            self.now = self.clock.now()
            self.conference, self.new = await decide(
                tx, self.cmd, self.now, None, self.whisper_limit
            )
            self.key = call_key(self.cmd)
            step = place_call(self.cmd, self.key, self.conference.sid)
            return Decided(None, None, [step], durable=self._placement, then=self._record)
        # Decided again once a remote carrier has placed the call.
        assert self.conference is not None
        if repeat is not None:
            if repeat.call_sid != placed.call_sid:
                # Another replica recorded this request_id meanwhile with a
                # call of its own: that one stands, ours must not ring on.
                return Decided(None, None, [self._kick(placed)])
            await tx.forget_placement(self.key)
            return Decided((repeat, None), None)
        self.now = self.clock.now()
        joined, new = await decide(
            tx, self.cmd, self.now, self.conference.sid if self.new else None, self.whisper_limit
        )
        if joined.sid != self.conference.sid:
            # Placed into another conference's carrier conference: ended, then
            # placed again into this one's.
            return Decided(None, None, [self._kick(placed)])
        await tx.forget_placement(self.key)
        self.new = new
        self.conference = joined
        return await self._record(tx)

    def carried_out(self, step: Step, placed: Placed | None) -> None:
        if isinstance(step, PlaceCall):
            self.placed = placed
        elif (
            self.placed is not None
            and isinstance(step, Kick)
            and step.target.call_sid == self.placed.call_sid
        ):
            self.placed, self.ended, self.placement = None, self.placement, None

    async def _placement(self, tx: WriteTransaction) -> None:
        assert self.conference is not None
        await tx.record_placement(self.key, self.account_sid, self.conference.sid, self.now)
        self.placement = self.key

    async def _record(self, tx: WriteTransaction) -> Decided[Created | None]:
        """Write the participant of the placed call (and the conference, when new)."""
        placed, conf, cmd = self.placed, self.conference, self.cmd
        assert placed is not None and conf is not None
        ch = Changes(conf, self.now, new_conference=self.new)
        p = participant(cmd, conf, placed.call_sid, self.now)
        ch.emit(EventType.CALL_STATUS_CHANGED, p, new=True)
        answer = copy.copy(p)  # queued, at the first revision, whatever follows
        sequence = None
        if placed.progress is not None:
            sequence = dialed(ch, p, placed.progress)
        if cmd.request_id:
            await tx.record_request(
                self.account_sid, cmd.request_id, p.call_sid, cmd.fingerprint, self.now
            )
        await tx.save_carrier_call(placed.call_sid, placed.conference_sid, sequence, self.now)
        return Decided((answer, placed.queue_time_ms), ch)

    def _kick(self, placed: Placed) -> Kick:
        return Kick(CallTarget(self.account_sid, placed.conference_sid, placed.call_sid))

    async def clean_up(self, store: Store, carrier: Carrier, exc: BaseException) -> None:
        """After a Create failed: end its call placed and not recorded, and
        forget what placements are known not to ring (Rules 3 and 4)."""
        if self.placed is not None:
            try:
                await carrier.apply(self._kick(self.placed))
            except Exception:
                log.exception("could not end a call that was not recorded")
                return  # its placement stays for the next recovery
            self.ended, self.placement = self.placement, None
        elif self.placement is not None and refused(exc):
            self.ended, self.placement = self.placement, None
        if self.ended is not None:
            await forget(store, self.ended)


def dialed(ch: Changes, p: Participant, report: CallReport) -> int | None:
    """The statuses the call took while it was placed, as the carrier's
    steps after p's first revision (Rule 5); the carrier's SequenceNumber of
    the last, which a later report must pass. Only dialing steps: they read
    nothing and answer or end nothing."""
    steps = [status.progress() for status in (*report.passed, report.status)]
    if not all(step.dialing for step in steps):
        raise ValueError(f"a carrier's progress at dial time must be dialing only: {steps}")
    with ch.acting(actors.CARRIER, report.timestamp):
        for step in steps:
            rules.apply_progress(ch, rules.Roster(), p, step)
    return report.sequence_number


async def _repeat(tx: WriteTransaction, cmd: CreateCommand) -> Participant | None:
    """The participant an earlier Create with this request_id made, if any."""
    if not cmd.request_id:
        return None
    earlier = await tx.request(cmd.conference.account_sid, cmd.request_id)
    if earlier is None:
        return None
    call_sid, fingerprint = earlier
    repeat = await tx.participant_by_call_sid(call_sid)
    if repeat is None:
        # Participant retention removed what it made: the request_id has
        # lapsed with it (Rule 2).
        await tx.forget_request(cmd.conference.account_sid, cmd.request_id)
        return None
    if fingerprint != cmd.fingerprint:
        raise errors.request_id_reused()
    return repeat


def refused(exc: BaseException) -> bool:
    """Whether a failed place() means no call: a typed refusal. UNAVAILABLE
    (the carrier could not be reached) may hide a placed call; so may an
    unexpected failure."""
    return isinstance(exc, errors.RollcallError) and exc.code is not errors.Code.UNAVAILABLE


async def forget(store: Store, key: str) -> None:
    """Forget a placement whose call is known not to ring (its own transaction)."""
    try:
        async with store.write() as tx:
            await tx.forget_placement(key)
    except Exception:
        # Harmless: the next recovery finds no live call for it and forgets it.
        log.warning("could not forget a placement", exc_info=True)
