"""Create, decided without I/O beyond its reads: the conference joined and the
participant to insert, or the typed refusal.

The rule it keeps: the same reads and checks run before the call is placed
(so a refusal never dials) and again in the transaction that records it
(so what was placed is recorded only if it still fits); nothing here writes.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from service.core import errors
from service.core.commands import ConferenceRef, CreateCommand
from service.core.model import (
    CallStatus,
    Conference,
    ConferenceStatus,
    Participant,
    ParticipantStatus,
    new_sid,
)
from service.core.ports.carrier import PlaceCall
from service.core.ports.store import WriteTransaction


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
    tx: WriteTransaction, cmd: CreateCommand, now: float, conference_sid: str | None
) -> tuple[Conference, bool]:
    """The conference this Create joins and whether it is new; raises when it
    may not join. `conference_sid` is the SID a new conference gets (chosen by
    the first decision, so the carrier's conference is named after it)."""
    existing = await find_conference(tx, cmd.conference)
    count = label_taken = 0
    coach_target = None
    if existing is not None:
        count = await tx.count_active(existing.sid)
        if cmd.label is not None:
            label_taken = await tx.active_label_taken(existing.sid, cmd.label)
        if cmd.coaching and cmd.call_sid_to_coach:
            coach_target = await tx.active_participant(existing.sid, cmd.call_sid_to_coach)
    conf = _conference_for_create(existing, cmd, now, conference_sid)
    if count >= conf.max_participants:
        raise errors.conference_full(conf.sid, conf.max_participants)
    if label_taken:
        raise errors.label_in_use(cmd.label or "")
    if cmd.coaching and cmd.call_sid_to_coach:
        check_coach_target(coach_target, cmd.call_sid_to_coach, None)
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
        muted=cmd.muted,
        start_conference_on_enter=cmd.start_conference_on_enter,
        end_conference_on_exit=cmd.end_conference_on_exit,
        coaching=cmd.coaching,
        call_sid_to_coach=cmd.call_sid_to_coach if cmd.coaching else None,
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
    )


def check_coach_target(found: Participant | None, target: str, coach: str | None) -> None:
    """The coached participant must be another active one, not on hold."""
    if found is None or target == coach:
        raise errors.coach_target_absent(target)
    if found.hold:
        raise errors.coach_target_on_hold(target)
