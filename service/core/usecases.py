"""Use cases: create, fetch, list, update and delete participants; call progress.

The rules it keeps: every change runs in one store write transaction, in
three steps: it reads what it needs, the rules decide from those values into
Changes (no store call while deciding), and changes.apply writes the result
(so it is durable and announced together); nothing reaches the dialer
before its transaction commits (a Create dials after its row is stored, a kick
hangs up after it is recorded), and once it commits all of that happens even
if the caller has gone (each change runs apart from its caller, see
background); a repeated request_id returns the first
participant and never dials again; a stale etag changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from service.clock import Clock
from service.core import background, errors, rules
from service.core.changes import Changes, apply
from service.core.commands import ConferenceRef, CreateCommand, UpdateCommand
from service.core.model import (
    CallStatus,
    Conference,
    ConferenceStatus,
    Event,
    EventType,
    Participant,
    ParticipantStatus,
    new_sid,
)
from service.core.ports.dialer import CallProgress, CallRequest, Dialer
from service.core.ports.store import Page, ParticipantFilter, Store, WriteTransaction

log = logging.getLogger("rollcall.core")

EventListener = Callable[[list[Event]], Awaitable[None] | None]


class Participants:
    def __init__(self, store: Store, dialer: Dialer, clock: Clock) -> None:
        self.store = store
        self.dialer = dialer
        self.clock = clock
        self._listeners: list[EventListener] = []
        # Every change runs here, apart from its caller (see background).
        self.changes = background.ChangeRunner()

    def subscribe(self, listener: EventListener) -> None:
        """Called with each committed transaction's events, in commit order."""
        self._listeners.append(listener)

    async def _committed(self, ch: Changes) -> None:
        """What a commit promises: hangups, then the announcement to listeners.

        A dialer that fails here cannot undo the commit, so it never stops the
        announcement: the participant was already recorded as gone, and the
        failure is logged.
        """
        for call_sid in ch.hangups:
            try:
                await self.dialer.hangup(call_sid)
            except Exception:
                log.exception("dialer hangup failed after commit", extra={"call_sid": call_sid})
        if ch.events:
            for listener in self._listeners:
                result = listener(ch.events)
                if result is not None:
                    await result

    # -- reads ---------------------------------------------------------------

    async def conference(self, ref: ConferenceRef) -> Conference:
        conf = await _find_conference(self.store, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        return conf

    async def fetch(self, ref: ConferenceRef, key: str, *, include_ended: bool) -> Participant:
        found = await self.store.participant_in(
            ref.account_sid, ref.key, ref.is_sid, key, include_ended=include_ended
        )
        if found is None:
            await self.conference(ref)  # raises when the conference is what is missing
            raise errors.participant_not_found(f"participant {key}")
        return found

    async def list(
        self,
        ref: ConferenceRef,
        flt: ParticipantFilter,
        *,
        page_size: int,
        after: int | None,
        before: int | None,
    ) -> Page:
        conf = await self.conference(ref)
        return await self.store.list_participants(
            conf.sid, flt, page_size=page_size, after=after, before=before
        )

    # -- create --------------------------------------------------------------

    async def create(self, cmd: CreateCommand) -> tuple[Participant, float | None]:
        """Returns the participant and its queue time in ms (None on a repeat)."""
        self.dialer.check(cmd.conference.account_sid, cmd.from_endpoint, cmd.to_endpoint)
        return await self.changes.run(lambda: self._create(cmd))

    async def _create(self, cmd: CreateCommand) -> tuple[Participant, float | None]:
        account = cmd.conference.account_sid
        now = self.clock.now()
        async with self.store.write() as tx:
            background.started()
            if cmd.request_id:
                earlier = await tx.request(account, cmd.request_id)
                if earlier is not None:
                    call_sid, fingerprint = earlier
                    if fingerprint != cmd.fingerprint:
                        raise errors.request_id_reused()
                    repeat = await tx.participant_by_call_sid(call_sid)
                    assert repeat is not None
                    return repeat, None
            # Read what the decision needs...
            existing = await _find_conference(tx, cmd.conference)
            count = label_taken = 0
            coach_target = None
            if existing is not None:
                count = await tx.count_active(existing.sid)
                if cmd.label is not None:
                    label_taken = await tx.active_label_taken(existing.sid, cmd.label)
                if cmd.coaching and cmd.call_sid_to_coach:
                    coach_target = await tx.active_participant(existing.sid, cmd.call_sid_to_coach)
            # ...decide from those values...
            conf = _conference_for_create(existing, cmd, now)
            ch = Changes(conf, now, new_conference=existing is None)
            if count >= conf.max_participants:
                raise errors.conference_full(conf.sid, conf.max_participants)
            if label_taken:
                raise errors.label_in_use(cmd.label or "")
            if cmd.coaching and cmd.call_sid_to_coach:
                _check_coach_target(coach_target, cmd.call_sid_to_coach, None)
            participant = Participant(
                call_sid=new_sid("CA"),
                account_sid=account,
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
                muted=cmd.muted,
                coaching=cmd.coaching,
                call_sid_to_coach=cmd.call_sid_to_coach if cmd.coaching else None,
                start_conference_on_enter=cmd.start_conference_on_enter,
                end_conference_on_exit=cmd.end_conference_on_exit,
                wait_url=cmd.wait_url,
                wait_method=cmd.wait_method,
                timeout=cmd.timeout,
                time_limit=cmd.time_limit,
                settings=dict(cmd.settings),
                status_callback=cmd.status_callback,
            )
            ch.emit(EventType.CALL_STATUS_CHANGED, participant, new=True)
            # ...then write.
            await apply(tx, ch)
            if cmd.request_id:
                await tx.record_request(
                    account, cmd.request_id, participant.call_sid, cmd.fingerprint
                )
        try:
            queue_ms = self.dialer.place(
                CallRequest(
                    account_sid=account,
                    call_sid=participant.call_sid,
                    from_endpoint=participant.from_endpoint,
                    to_endpoint=participant.to_endpoint,
                    timeout_seconds=participant.timeout,
                    time_limit_seconds=participant.time_limit,
                )
            )
        except Exception:
            log.exception(
                "dialer failed to place a committed call",
                extra={"call_sid": participant.call_sid},
            )
            await self._committed(ch)
            # The call never started: it fails as a change of its own
            # (participant failed, leave reason participant_add_failed).
            await self._on_progress(participant.call_sid, CallProgress.FAILED, self.clock.now())
            return participant, 0.0
        await self._committed(ch)
        return participant, queue_ms

    # -- update and delete ---------------------------------------------------

    async def _locked(
        self, tx: WriteTransaction, ref: ConferenceRef, key: str, etag: str
    ) -> tuple[Conference, Participant]:
        conf = await _find_conference(tx, ref)
        if conf is None:
            raise errors.conference_not_found(f"conference {ref.key}")
        participant = await tx.participant(conf.sid, key)
        if participant is None:
            raise errors.participant_not_found(f"participant {key}")
        if etag and etag != participant.etag:
            raise errors.etag_mismatch(etag, participant.etag)
        return conf, participant

    async def update(self, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> Participant:
        return await self.changes.run(lambda: self._update(ref, key, cmd))

    async def _update(self, ref: ConferenceRef, key: str, cmd: UpdateCommand) -> Participant:
        async with self.store.write() as tx:
            background.started()
            conf, p = await self._locked(tx, ref, key, cmd.etag)
            if not p.active:
                raise errors.participant_not_active(p.call_sid)
            ch = Changes(conf, self.clock.now())
            coaching = p.coaching if cmd.coaching is None else cmd.coaching
            coach_target = p.call_sid_to_coach
            if cmd.call_sid_to_coach is not None:
                coach_target = cmd.call_sid_to_coach or None
                if cmd.coaching is None and coach_target:
                    coaching = True
            if not coaching:
                coach_target = None
            elif not coach_target:
                raise errors.invalid_field(
                    "call_sid_to_coach", "required when coaching is true", 16028
                )
            elif coach_target != p.call_sid_to_coach or not p.coaching:
                found = None
                if coach_target != p.call_sid:
                    found = await tx.active_participant(conf.sid, coach_target)
                _check_coach_target(found, coach_target, p.call_sid)
            if cmd.muted is not None and cmd.muted != p.muted:
                p.muted = cmd.muted
                kind = EventType.PARTICIPANT_MUTED if p.muted else EventType.PARTICIPANT_UNMUTED
                ch.emit(kind, p)
            if cmd.hold is not None and cmd.hold != p.hold:
                p.hold = cmd.hold
                kind = EventType.PARTICIPANT_HELD if p.hold else EventType.PARTICIPANT_UNHELD
                if cmd.hold_url is not None:
                    p.hold_url = cmd.hold_url or None
                if cmd.hold_method is not None:
                    p.hold_method = cmd.hold_method
                ch.emit(kind, p)
            modified = False
            for field, value in (
                ("hold_url", cmd.hold_url),
                ("hold_method", cmd.hold_method),
                ("wait_url", cmd.wait_url),
                ("wait_method", cmd.wait_method),
                ("beep_on_exit", cmd.beep_on_exit),
                ("end_conference_on_exit", cmd.end_conference_on_exit),
                ("announce_method", cmd.announce_method),
            ):
                if value is not None and getattr(p, field) != value:
                    setattr(p, field, value)
                    modified = True
            if (coaching, coach_target) != (p.coaching, p.call_sid_to_coach):
                p.coaching, p.call_sid_to_coach = coaching, coach_target
                modified = True
            if modified:
                ch.emit(EventType.PARTICIPANT_MODIFIED, p)
            if cmd.announce_url:
                # The simulated media plane plays the announcement at once.
                p.announce_url = cmd.announce_url
                ch.emit(EventType.ANNOUNCEMENT_ENDED, p)
            await apply(tx, ch)
        await self._committed(ch)
        return p

    async def delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        return await self.changes.run(lambda: self._delete(ref, key, etag))

    async def _delete(self, ref: ConferenceRef, key: str, etag: str) -> Participant:
        async with self.store.write() as tx:
            background.started()
            conf, p = await self._locked(tx, ref, key, etag)
            if not p.active:
                raise errors.participant_not_found(f"participant {key}")
            roster = await read_roster(tx, conf.sid, rules.needs(conf, p, None))
            ch = Changes(conf, self.clock.now())
            rules.kick(ch, roster, p)
            await apply(tx, ch)
        await self._committed(ch)
        return p

    # -- dialer progress and restart -----------------------------------------

    async def on_progress(self, call_sid: str, progress: CallProgress, at: float) -> None:
        # Called from the dialer's timers, which no caller cancels.
        await self.changes.track(lambda: self._on_progress(call_sid, progress, at))

    async def _on_progress(self, call_sid: str, progress: CallProgress, at: float) -> None:
        async with self.store.write() as tx:
            background.started()
            p = await tx.participant_by_call_sid(call_sid)
            if p is None or not p.active:
                return
            conf = await tx.conference(p.account_sid, p.conference_sid)
            assert conf is not None
            roster = await read_roster(tx, conf.sid, rules.needs(conf, p, progress))
            ch = Changes(conf, max(at, p.date_updated))
            rules.apply_progress(ch, roster, p, progress)
            await apply(tx, ch)
        await self._committed(ch)

    async def recover(self, found: Sequence[Participant] | None = None) -> tuple[int, int]:
        """After a restart: calls still being dialed fail; answered calls resume.

        Returns (failed, resumed). Deterministic: the dialer's timers did not
        survive, so a call that had not been answered is reported failed
        (ParticipantCallStatus failed, reason participant_add_failed), and an
        answered call stays connected with its time limit re-armed from its
        answer time. `found`: these calls instead of the store's (another
        replica's, claimed after it stopped).
        """
        failed = resumed = 0
        if found is None:
            found = await self.store.active_participants_everywhere()
        for p in found:
            if p.status is ParticipantStatus.CONNECTED and p.answered_at is not None:
                self.dialer.resume(
                    CallRequest(
                        account_sid=p.account_sid,
                        call_sid=p.call_sid,
                        from_endpoint=p.from_endpoint,
                        to_endpoint=p.to_endpoint,
                        timeout_seconds=p.timeout,
                        time_limit_seconds=p.time_limit,
                    ),
                    p.answered_at,
                )
                resumed += 1
            else:
                await self.on_progress(p.call_sid, CallProgress.FAILED, self.clock.now())
                failed += 1
        if failed or resumed:
            log.info("recovered calls", extra={"failed": failed, "resumed": resumed})
        return failed, resumed


def _conference_for_create(
    existing: Conference | None, cmd: CreateCommand, now: float
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
        sid=new_sid("CF"),
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
    )


async def read_roster(tx: WriteTransaction, conference_sid: str, need: rules.Need) -> rules.Roster:
    """Read what rules.needs asked for: nothing, the count, or the members."""
    if need is rules.Need.MEMBERS:
        members = {p.call_sid: p for p in await tx.active_participants(conference_sid)}
        return rules.Roster(len(members), members)
    if need is rules.Need.COUNT:
        return rules.Roster(await tx.count_active(conference_sid))
    return rules.Roster()


class _ConferenceReader(Protocol):
    async def conference(self, account_sid: str, conference_sid: str) -> Conference | None: ...

    async def active_conference_named(
        self, account_sid: str, friendly_name: str
    ) -> Conference | None: ...


async def _find_conference(reader: _ConferenceReader, ref: ConferenceRef) -> Conference | None:
    """By SID (any status), or the active conference of that friendly name."""
    if ref.is_sid:
        return await reader.conference(ref.account_sid, ref.key)
    return await reader.active_conference_named(ref.account_sid, ref.key)


def _check_coach_target(found: Participant | None, target: str, coach: str | None) -> None:
    """The coached participant must be another active one, not on hold."""
    if found is None or target == coach:
        raise errors.coach_target_absent(target)
    if found.hold:
        raise errors.coach_target_on_hold(target)
