"""PostgreSQL: the number index and in-place redaction (number_index, 0011_audit_and_numbers.sql).

Rule 1: every statement runs inside its caller's transaction; each finds its
        rows by an index (the index's key, or a conference's events and dead
        letters), never by scanning the account.
Rule 2: redaction rewrites each stored copy through service.core.personal.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson

from service.core import personal
from service.store.postgres.held import HeldWrites, values

HOLDERS = (
    "SELECT n.conference_sid, n.call_sid, p.active,"
    " (SELECT COUNT(*) FROM events e WHERE e.conference_sid = n.conference_sid"
    "  AND e.call_sid = n.call_sid),"
    " (SELECT COUNT(*) FROM callback_dead_letters d WHERE d.conference_sid = n.conference_sid"
    "  AND d.call_sid = n.call_sid)"
    " FROM number_index n JOIN participants p ON p.call_sid = n.call_sid"
    " WHERE n.account_sid = $1 AND n.digest = $2 ORDER BY p.seq"
)


# What the participants_ended index finds (0007_retention.sql, word for word).
_ENDED = "(COALESCE(data::jsonb ->> 'ended_at', data::jsonb ->> 'date_updated')::double precision)"


async def unredacted(
    conn: Any,
    ended_before: float,
    limit: int,
    account_sid: str | None,
    exclude: Collection[str],
) -> list[tuple[str, str, str]]:
    sql = (
        "SELECT account_sid, conference_sid, call_sid FROM participants"  # noqa: S608
        f" WHERE NOT active AND {_ENDED} < $1 AND (label IS NOT NULL"
        " OR data::jsonb ->> 'from_endpoint' != '' OR data::jsonb ->> 'to_endpoint' != '')"
    )
    args: list[Any] = [ended_before, limit]
    if account_sid is not None:
        args.append(account_sid)
        sql += f" AND account_sid = ${len(args)}"
    if exclude:
        args.append(list(exclude))
        sql += f" AND NOT (account_sid = ANY(${len(args)}::text[]))"
    rows = await conn.fetch(sql + " LIMIT $2", *args)
    return [(row[0], row[1], row[2]) for row in rows]


def holder(row: Any) -> personal.NumberHolder:
    return personal.NumberHolder(row[0], row[1], bool(row[2]), int(row[3]), int(row[4]))


class PgNumberRows:
    """Mixed into the PostgreSQL write transaction (needs its `conn` and `held`)."""

    conn: Any
    held: HeldWrites

    async def index_numbers(
        self, account_sid: str, conference_sid: str, call_sid: str, digests: Sequence[str]
    ) -> None:
        if not digests:
            return
        await self.held.hold(
            "INSERT INTO number_index (account_sid, digest, call_sid, conference_sid)"  # noqa: S608
            f" VALUES {values(4, len(digests))} ON CONFLICT DO NOTHING",
            [v for digest in digests for v in (account_sid, digest, call_sid, conference_sid)],
            "number_index",
        )

    async def redact_call(self, account_sid: str, conference_sid: str, call_sid: str) -> None:
        conn = self.conn
        events = await conn.fetch(
            "SELECT revision, data FROM events WHERE conference_sid = $1 AND call_sid = $2",
            conference_sid,
            call_sid,
        )
        await conn.executemany(
            "UPDATE events SET data = $1 WHERE conference_sid = $2 AND revision = $3",
            [
                (_json(personal.redact_event_data(orjson.loads(data))), conference_sid, revision)
                for revision, data in events
            ],
        )
        letters = await conn.fetch(
            "SELECT id, params FROM callback_dead_letters WHERE conference_sid = $1"
            " AND call_sid = $2 AND account_sid = $3",
            conference_sid,
            call_sid,
            account_sid,
        )
        await conn.executemany(
            "UPDATE callback_dead_letters SET params = $1 WHERE id = $2",
            [(_json(personal.redact_params(orjson.loads(p))), i) for i, p in letters],
        )
        await conn.execute(
            "UPDATE requests SET fingerprint = $1 WHERE account_sid = $2 AND call_sid = $3",
            personal.REDACTED_FINGERPRINT,
            account_sid,
            call_sid,
        )
        await conn.execute(
            "DELETE FROM number_index WHERE conference_sid = $1 AND call_sid = $2",
            conference_sid,
            call_sid,
        )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
