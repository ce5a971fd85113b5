"""Dead letters as table rows: the columns both SQL adapters select, mapped to a DeadLetter.

Rule 1: one column list and one mapping of such a row to a DeadLetter, so the SQLite
        and PostgreSQL adapters read a dead letter the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from service.core.ports.dead_letters import DeadLetter

COLUMNS = (
    "id, account_sid, conference_sid, revision, kind, call_sid, callback_event, method, url,"
    " params, token, attempts, last_outcome, given_up_at"
)


def letter_from_row(row: Any) -> DeadLetter:
    return DeadLetter(
        id=int(row[0]),
        account_sid=row[1],
        conference_sid=row[2],
        revision=int(row[3]),
        kind=row[4],
        call_sid=row[5],
        callback_event=row[6],
        method=row[7],
        url=row[8],
        params=orjson.loads(row[9]),
        token=row[10],
        attempts=int(row[11]),
        last_outcome=row[12],
        given_up_at=float(row[13]),
    )
