"""The memory store's number index and in-place redaction (service.core.personal).

Rule 1: the index maps (account, digest, call) to the call's conference; it
        never holds a number.
Rule 2: redacting a call rewrites every stored copy of its personal fields
        (its events' participant state, its dead letters' parameters, its
        Create request fingerprint) and drops its index rows, on the
        transaction's own tables.
"""

from __future__ import annotations

from collections.abc import Collection

import orjson

from service.core import personal
from service.store.memory.tables import EventRow, LetterRow, Tables


def _holds(row: EventRow, call_sid: str) -> bool:
    participant = orjson.loads(row.data).get("participant")
    return isinstance(participant, dict) and participant.get("call_sid") == call_sid


def holders(t: Tables, account_sid: str, digest: str) -> list[personal.NumberHolder]:
    found = []
    for (account, key, call_sid), conference_sid in sorted(t.number_index.items()):
        if account != account_sid or key != digest:
            continue
        row = t.participants.get(call_sid)
        if row is None:
            continue
        events = sum(1 for e in t.events.get(conference_sid, ()) if _holds(e, call_sid))
        letters = sum(
            1
            for letter in t.dead_letters.values()
            if letter.letter.call_sid == call_sid and letter.letter.account_sid == account_sid
        )
        found.append(personal.NumberHolder(conference_sid, call_sid, row.active, events, letters))
    return found


def unredacted(
    t: Tables,
    ended_before: float,
    limit: int,
    account_sid: str | None,
    exclude: Collection[str],
) -> list[tuple[str, str, str]]:
    found = []
    for row in sorted(t.participants.values(), key=lambda r: r.seq):
        if row.active or row.ended_at is None or row.ended_at >= ended_before:
            continue
        p = row.decode()
        if account_sid is not None and p.account_sid != account_sid:
            continue
        if p.account_sid in exclude or (not p.from_endpoint and not p.to_endpoint and not p.label):
            continue
        found.append((p.account_sid, p.conference_sid, p.call_sid))
        if len(found) == limit:
            break
    return found


def redact_call(t: Tables, account_sid: str, conference_sid: str, call_sid: str) -> None:
    rows = t.events.get(conference_sid, ())
    t.events[conference_sid] = tuple(
        EventRow(
            row.revision,
            row.time,
            orjson.dumps(personal.redact_event_data(orjson.loads(row.data))).decode(),
        )
        if _holds(row, call_sid)
        else row
        for row in rows
    )
    for letter_id, letter in list(t.dead_letters.items()):
        if letter.letter.call_sid == call_sid and letter.letter.account_sid == account_sid:
            params = personal.redact_params(orjson.loads(letter.params))
            t.dead_letters[letter_id] = LetterRow(letter.letter, orjson.dumps(params).decode())
    for key, (sid, _) in list(t.requests.items()):
        if key[0] == account_sid and sid == call_sid:
            t.requests[key] = (sid, personal.REDACTED_FINGERPRINT)
    for entry in [k for k in t.number_index if k[0] == account_sid and k[2] == call_sid]:
        del t.number_index[entry]
