"""SQLite: the audit trail's reads and its expiry (audit_records, 0012_audit.sql).

Rule 1: records are appended by the change's own transaction (rows.py); a
        read is one snapshot scoped to one account, newest first by id.
Rule 2: expiry is one write transaction of at most `limit` records, found by
        their time index, like every retention batch.
"""

from __future__ import annotations

from service.core.audit import AuditFilter, AuditRecord
from service.store.audit_rows import COLUMNS, audit_from_row, audit_where
from service.store.sqlite import retention
from service.store.sqlite.retention import SqliteStore


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
