"""Look-up and erasure by number, and redaction of personal data past its retention.

Rule 1: a look-up reads the number index by the number's keyed hash
        (service.core.personal); nothing is scanned, and the number is never
        stored, logged or audited.
Rule 2: an erase refuses (FAILED_PRECONDITION NUMBER_HAS_LIVE_CALLS) while a
        participant holding the number is in a call, before changing
        anything, unless asked to end live calls: then each is kicked first,
        as Delete does, by the same actor.
Rule 3: each participant is redacted in its own change: its row (personal
        fields blanked, stamped with the change's revision), every stored copy
        of them (Store.redact_call) and one PARTICIPANT_REDACTED event, which
        watchers see in order and the audit trail records with its actor.
        Every SID, revision, time and status stays; redacting twice changes
        nothing the second time.
Rule 4: the erase is audited once more as one account-wide record
        (number-erase) saying how many participants it redacted, never which
        number.
Rule 5: past its retention window (a global one, and one per account where
        configured; 0 keeps it as long as the participant), an ended
        participant's personal data is redacted the same way by the lease
        holder's retention pass, acting as Rollcall's retention rule.
"""

from __future__ import annotations

from service.core import actors, errors, personal
from service.core.audit import AuditRecord
from service.core.changes import Changes
from service.core.commands import ConferenceRef
from service.core.events import EventType
from service.core.participants import Participants
from service.core.ports.store import WriteTransaction
from service.core.runtime import Change, Decided, Runtime

ERASE_EVENT = "number-erase"


def live_calls(count: int) -> errors.RollcallError:
    return errors.RollcallError(
        errors.Code.FAILED_PRECONDITION,
        "NUMBER_HAS_LIVE_CALLS",
        f"{count} participant(s) holding the number are still in a call: end them first,"
        " or erase with end_live_calls",
        twilio_code=None,
        http_status=409,
        metadata={"live": str(count)},
    )


class Privacy:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._participants = Participants(runtime)

    async def lookup(self, account_sid: str, number: str) -> list[personal.NumberHolder]:
        digest = self.runtime.numbers.digest(number)
        if not digest:
            return []
        return await self.runtime.store.number_holders(account_sid, digest)

    async def erase(
        self, account_sid: str, number: str, *, end_live_calls: bool
    ) -> tuple[list[personal.NumberHolder], int]:
        """Redact every participant of the account holding `number` (Rule 2, 3,
        4); (the participants redacted, how many live calls were ended)."""
        holders = await self.lookup(account_sid, number)
        live = [h for h in holders if h.live]
        if live and not end_live_calls:
            raise live_calls(len(live))
        ended = 0
        for holder in live:
            ref = ConferenceRef(account_sid, holder.conference_sid)
            try:
                await self._participants.delete(ref, holder.call_sid, "")
                ended += 1
            except errors.RollcallError as exc:
                if exc.code is not errors.Code.NOT_FOUND:
                    raise  # ended meanwhile (NOT_FOUND) is as good as ended here
        erased = [
            h for h in holders if await self.redact(account_sid, h.conference_sid, h.call_sid)
        ]
        async with self.runtime.store.write() as tx:
            await tx.append_audit(
                [
                    AuditRecord(
                        account_sid=account_sid,
                        time=self.runtime.clock.now(),
                        conference_sid="",
                        revision=0,
                        event_type=ERASE_EVENT,
                        resource=account_sid,
                        actor=actors.current(),
                        detail=f"redacted {len(erased)} participant(s), ended {ended} call(s)",
                    )
                ]
            )
        return erased, ended

    async def redact(
        self, account_sid: str, conference_sid: str, call_sid: str, *, rule: str = ""
    ) -> bool:
        """Redact one ended participant (Rule 3); False when it is gone or live."""
        change = _Redact(self.runtime, account_sid, conference_sid, call_sid, rule)
        return await self.runtime.changes.run(lambda: self.runtime.carry_out(change))


class _Redact(Change[bool]):
    def __init__(
        self, runtime: Runtime, account_sid: str, conference_sid: str, call_sid: str, rule: str
    ) -> None:
        self.runtime = runtime
        self.account_sid = account_sid
        self.conference_sid = conference_sid
        self.call_sid = call_sid
        self.rule = rule
        self.locks = ("participant:" + call_sid,)

    async def decide(self, tx: WriteTransaction, first: bool) -> Decided[bool]:
        conf = await tx.conference(self.account_sid, self.conference_sid)
        p = await tx.participant_by_call_sid(self.call_sid)
        if conf is None or p is None or p.account_sid != self.account_sid or p.active:
            return Decided(False, None)
        await tx.redact_call(self.account_sid, self.conference_sid, self.call_sid)
        if personal.is_redacted(p):
            return Decided(True, None)
        ch = Changes(conf, self.runtime.clock.now())
        ch.emit(EventType.PARTICIPANT_REDACTED, personal.redact(p), rule=self.rule)
        return Decided(True, ch)


class PersonalRetention:
    """Rule 5: `default_seconds` for every account, `per_account` overrides."""

    def __init__(
        self,
        privacy: Privacy,
        default_seconds: float,
        per_account: dict[str, float] | None = None,
        *,
        batch: int = 100,
    ) -> None:
        self.privacy = privacy
        self.default_seconds = default_seconds
        self.per_account = dict(per_account or {})
        self.batch = max(1, batch)

    async def run(self) -> int:
        """Redact every participant past its window; how many were redacted."""
        rt = self.privacy.runtime
        now = rt.clock.now()
        total = 0
        scopes: list[tuple[float, str | None]] = [
            (seconds, account) for account, seconds in self.per_account.items()
        ]
        scopes.append((self.default_seconds, None))
        for seconds, account in scopes:
            if seconds <= 0:
                continue
            while True:
                found = await rt.store.unredacted_participants(
                    now - seconds,
                    self.batch,
                    account_sid=account,
                    exclude=() if account is not None else tuple(self.per_account),
                )
                done = 0
                with actors.as_actor(actors.rule(actors.RETENTION)):
                    for account_sid, conference_sid, call_sid in found:
                        if await self.privacy.redact(
                            account_sid, conference_sid, call_sid, rule=actors.RETENTION
                        ):
                            done += 1
                total += done
                if not done:  # none left, or none that can be (gone meanwhile)
                    break
        return total
