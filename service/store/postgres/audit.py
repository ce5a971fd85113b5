"""PostgreSQL: the audit trail's reads and its expiry (audit_records, 0011_audit.sql).

Rule 1: records are appended by the change's own transaction (tx.py); a read
        is one statement scoped to one account, newest first by id.
Rule 2: expiry is one transaction of at most `limit` records found by their
        time index, skipping rows another batch holds, like every retention
        batch.
"""

from __future__ import annotations

from service.core.audit import AuditFilter, AuditRecord
from service.store.audit_rows import COLUMNS, audit_from_row, audit_where
from service.store.postgres import retention
from service.store.postgres.retention import PostgresStore


async def records(
    store: PostgresStore, account_sid: str, flt: AuditFilter, before_id: int | None, limit: int
) -> list[AuditRecord]:
    where, args = audit_where(account_sid, flt, before_id, "$")
    args.append(limit)
    sql = (
        f"SELECT {COLUMNS} FROM audit_records WHERE {where}"  # noqa: S608
        f" ORDER BY id DESC LIMIT ${len(args)}"
    )
    async with store._connection() as conn:
        rows = await conn.fetch(sql, *args)
    return [audit_from_row(row) for row in rows]


async def expire(store: PostgresStore, recorded_before: float, limit: int) -> int:
    return await retention._delete(
        store,
        "DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records"
        " WHERE time < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        recorded_before,
        limit,
    )
