"""PostgreSQL: the audit trail's reads and its expiry (audit_records, 0011_audit_and_numbers.sql).

Rule 1: records are appended by the change's own transaction (tx.py); a read
        is one statement scoped to one account, newest first by id.
Rule 2: expiry is one transaction of at most `limit` records found by their
        time index, skipping rows another batch holds, like every retention
        batch.
Rule 3: the number look-ups read by the index (service.store.postgres.numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from typing import cast

import asyncpg

from service.core.audit import AuditFilter, AuditRecord
from service.core.personal import NumberHolder
from service.store.audit_rows import COLUMNS, audit_from_row, audit_where
from service.store.postgres import numbers, retention
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


class PgPrivacyReads:
    """The store's privacy reads and audit expiry (ports.privacy), mixed into
    PostgresStore (needs its `_connection`; expiry its retrying too)."""

    _connection: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]

    async def expire_audit(self, recorded_before: float, limit: int) -> int:
        return await expire(cast(PostgresStore, self), recorded_before, limit)

    async def number_holders(self, account_sid: str, digest: str) -> list[NumberHolder]:
        async with self._connection() as conn:
            rows = await conn.fetch(numbers.HOLDERS, account_sid, digest)
        return [numbers.holder(row) for row in rows]

    async def unredacted_participants(
        self,
        ended_before: float,
        limit: int,
        *,
        account_sid: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[tuple[str, str, str]]:
        async with self._connection() as conn:
            return await numbers.unredacted(conn, ended_before, limit, account_sid, exclude)

    async def audit_records(
        self, account_sid: str, flt: AuditFilter, *, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        return await records(cast(PostgresStore, self), account_sid, flt, before_id, limit)
