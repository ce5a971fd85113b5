"""Accountability and privacy in the store (issue 28): audit trail, number index, redaction.

Rule 1: audit records are appended in the change's own transaction and read
        per account, newest first; they expire on their own window.
Rule 2: the number index holds keyed hashes (service.core.personal), never
        numbers; look-ups go through it, never through a scan of an account.
Rule 3: redaction rewrites every stored copy of a participant's personal
        fields in place and keeps every SID, revision, time and status.
Rule 4: these are part of the store port (Store and WriteTransaction inherit
        them), kept apart to keep each module short.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from service.core.audit import AuditFilter, AuditRecord
from service.core.personal import NumberHolder


class PrivacyWrites(Protocol):
    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records (their `id` is assigned here, increasing)."""
        ...

    async def index_numbers(
        self, account_sid: str, conference_sid: str, call_sid: str, digests: Sequence[str]
    ) -> None:
        """Remember that the call's participant holds numbers with these keyed
        hashes (service.core.personal), for look-up and erasure."""
        ...

    async def redact_call(self, account_sid: str, conference_sid: str, call_sid: str) -> None:
        """Redact in place every stored copy of the call's personal fields but
        its row (the caller updates that): its events' participant state, its
        dead letters' callback parameters and its Create request fingerprint,
        through service.core.personal; and drop its number index rows."""
        ...


class PrivacyReads(Protocol):
    async def expire_audit(self, recorded_before: float, limit: int) -> int:
        """Delete up to `limit` audit records of changes made before
        `recorded_before` (their own window, not the event log's)."""
        ...

    async def number_holders(self, account_sid: str, digest: str) -> list[NumberHolder]:
        """The account's participants indexed under this number digest (by the
        index, never a scan of the account), with how many of their events
        and dead letters hold their state."""
        ...

    async def unredacted_participants(
        self,
        ended_before: float,
        limit: int,
        *,
        account_sid: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, str, str]]:
        """(account_sid, conference_sid, call_sid) of up to `limit` participants
        that ended before `ended_before` and still hold a From, To or label
        (of one account, or of every account but those in `exclude`)."""
        ...

    async def audit_records(
        self, account_sid: str, flt: AuditFilter, *, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        """The account's audit records matching `flt`, newest first (by id),
        those with an id below `before_id` when it is given, at most `limit`."""
        ...
