"""Audit record rows both SQL stores share (audit_records).

Rule 1: the columns a filter reads (time, account, conference, revision, event type,
        resource, actor kind and SID) are columns.
Rule 2: the rest of the actor and the detail are one JSON `data` column, encoded and
        decoded here for SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.core.actors import Actor, ActorKind
from service.core.audit import AuditFilter, AuditRecord

INSERT_COLUMNS = (
    "account_sid, time, conference_sid, revision, event_type, resource, actor_kind, actor_sid, data"
)
COLUMNS = "id, " + INSERT_COLUMNS


def audit_values(r: AuditRecord) -> tuple[Any, ...]:
    data = {"actor": r.actor.to_dict(), "detail": r.detail}
    return (
        r.account_sid,
        r.time,
        r.conference_sid,
        r.revision,
        r.event_type,
        r.resource,
        r.actor.kind.value,
        r.actor.sid,
        orjson.dumps(data).decode(),
    )


def audit_from_row(row: Any) -> AuditRecord:
    data = orjson.loads(row[9])
    actor = Actor.from_dict(data.get("actor") or {"kind": row[7], "sid": row[8]})
    return AuditRecord(
        account_sid=row[1],
        time=row[2],
        conference_sid=row[3],
        revision=row[4],
        event_type=row[5],
        resource=row[6],
        actor=actor,
        detail=data.get("detail", ""),
        id=row[0],
    )


def audit_where(
    account_sid: str, flt: AuditFilter, before_id: int | None, mark: str
) -> tuple[str, list[Any]]:
    """The WHERE clause of an account's audit read and its arguments; `mark`
    is the placeholder style ("?" for SQLite, "$" for PostgreSQL)."""
    clauses: list[str] = []
    args: list[Any] = []

    def add(clause: str, value: Any) -> None:
        args.append(value)
        clauses.append(clause + ("?" if mark == "?" else f"${len(args)}"))

    add("account_sid = ", account_sid)
    if before_id is not None:
        add("id < ", before_id)
    if flt.time_from is not None:
        add("time >= ", flt.time_from)
    if flt.time_before is not None:
        add("time < ", flt.time_before)
    if flt.actor_sid:
        add("actor_sid = ", flt.actor_sid)
    if flt.actor_kind is not None:
        add("actor_kind = ", ActorKind(flt.actor_kind).value)
    if flt.resource:
        add("resource = ", flt.resource)
    if flt.conference_sid:
        add("conference_sid = ", flt.conference_sid)
    if flt.event_type:
        add("event_type = ", flt.event_type)
    return " AND ".join(clauses), args
