"""SQLite: the audit trail's reads and its expiry (audit_records, 0012_audit_and_numbers.sql).

Rule 1: records are appended by the change's own transaction (rows.py); a
        read is one snapshot scoped to one account, newest first by id.
Rule 2: expiry is one write transaction of at most `limit` records, found by
        their time index, like every retention batch.
Rule 3: the number look-ups read by the index (service.store.sqlite.numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager

from service.core.audit import AuditFilter, AuditRecord
from service.core.personal import NumberHolder
from service.store.audit_rows import COLUMNS, audit_from_row, audit_where
from service.store.sqlite import numbers, retention
from service.store.sqlite.retention import SqliteStore
from service.store.sqlite.rows import SqliteReads, SqliteWriteTransaction


async def records(
    store: SqliteStore, account_sid: str, flt: AuditFilter, before_id: int | None, limit: int
) -> list[AuditRecord]:
    where, args = audit_where(account_sid, flt, before_id, "?")
    sql = f"SELECT {COLUMNS} FROM audit_records WHERE {where} ORDER BY id DESC LIMIT ?"  # noqa: S608
    async with store._read() as r:
        rows = await r._all(sql, *args, limit)
    return [audit_from_row(row) for row in rows]


async def expire(store: SqliteStore, recorded_before: float, limit: int) -> int:
    return await retention._delete(
        store,
        "DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records"
        " WHERE time < ? LIMIT ?)",
        recorded_before,
        limit,
    )


class SqlitePrivacyReads:
    """The store's privacy reads and audit expiry (ports.privacy), mixed into
    SqliteStore (needs its `_read` and `write`)."""

    write: Callable[[], AbstractAsyncContextManager[SqliteWriteTransaction]]
    _read: Callable[[], AbstractAsyncContextManager[SqliteReads]]

    async def expire_audit(self, recorded_before: float, limit: int) -> int:
        return await expire(self, recorded_before, limit)

    async def number_holders(self, account_sid: str, digest: str) -> list[NumberHolder]:
        async with self._read() as r:
            rows = await r._all(numbers.HOLDERS, account_sid, digest)
        return [numbers.holder(row) for row in rows]

    async def unredacted_participants(
        self,
        ended_before: float,
        limit: int,
        *,
        account_sid: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, str, str]]:
        async with self._read() as r:
            return await numbers.unredacted(r, ended_before, limit, account_sid, exclude)

    async def audit_records(
        self, account_sid: str, flt: AuditFilter, *, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        return await records(self, account_sid, flt, before_id, limit)
