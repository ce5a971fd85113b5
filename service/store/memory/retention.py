"""The memory store: removing what retention says is past its time, and compacting.

Rule 1: each function is one write transaction of at most `limit` rows (as
        the SQL stores' batches), so changes get the writer between batches.
Rule 2: what it keeps is what the SQL stores keep: a conference goes only once
        its status callbacks are done, with everything it holds; a carrier
        row only once its call ended (or its participant is gone).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from service.store.memory.tables import Tables
from service.store.memory.transaction import MemoryWriteTransaction


class MemoryStore(Protocol):
    """What these batches need of the store (service.store.memory.store)."""

    def write(self) -> AbstractAsyncContextManager[MemoryWriteTransaction]: ...

    def committed(self) -> Tables: ...


def _drop_participants(t: Tables, call_sids: list[str]) -> None:
    for call_sid in call_sids:
        del t.participants[call_sid]


async def expire_participants(store: MemoryStore, ended_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        gone = [
            row.call_sid
            for row in sorted(t.participants.values(), key=lambda row: row.seq)
            if row.ended_at is not None and row.ended_at < ended_before
        ][: max(limit, 0)]
        _drop_participants(t, gone)
    return len(gone)


def _expired_conferences(t: Tables, ended_before: float, limit: int) -> list[str]:
    found = []
    for row in sorted(t.conferences.values(), key=lambda row: row.order):
        cursor = t.webhook_cursors.get(row.sid)
        done = (0 if cursor is None else cursor.revision) >= row.revision
        if not row.active and row.date_updated < ended_before and done:
            found.append(row.sid)
    return found[: max(limit, 0)]


async def expire_conferences(store: MemoryStore, ended_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        sids = _expired_conferences(t, ended_before, limit)
        if not sids:
            return 0
        # What they hold first, a batch at a time; then the conferences.
        events = 0
        for sid in sids:
            rows = t.events.get(sid, ())
            take = min(len(rows), limit - events)
            if take:
                t.events[sid] = rows[take:]
                events += take
            if not t.events.get(sid, True):
                del t.events[sid]
        if events:
            return events
        members = [row.call_sid for row in t.participants.values() if row.conference_sid in sids]
        if members:
            _drop_participants(t, members[:limit])
            return min(len(members), limit)
        for call_sid, (sid, _) in list(t.call_sequences.items()):
            if sid in sids:
                del t.call_sequences[call_sid]
        for letter_id, letter in list(t.dead_letters.items()):
            if letter.letter.conference_sid in sids:
                del t.dead_letters[letter_id]
        for key, sid in list(t.number_index.items()):
            if sid in sids:
                del t.number_index[key]
        for sid in sids:
            t.webhook_cursors.pop(sid, None)
            del t.conferences[sid]
    return len(sids)


async def expire_requests(store: MemoryStore, recorded_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        gone = [key for key, at in t.request_times.items() if at < recorded_before][:limit]
        for key in gone:
            del t.requests[key]
            del t.request_times[key]
    return len(gone)


async def expire_carrier_calls(store: MemoryStore, ended_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        ended = [
            call_sid
            for call_sid, at in t.carrier_call_times.items()
            if at < ended_before
            and (call_sid not in t.participants or not t.participants[call_sid].active)
        ][:limit]
        conferences = set()
        for call_sid in ended:
            conference, _ = t.carrier_calls.pop(call_sid)
            del t.carrier_call_times[call_sid]
            t.carrier_event_sequences.pop(f"{conference}/{call_sid}", None)
            conferences.add(conference)
        still = {conference for conference, _ in t.carrier_calls.values()}
        for conference in conferences - still:
            t.carrier_event_sequences.pop(conference, None)
        placements = [
            key for key, row in t.placements.items() if row.placement.placed_at < ended_before
        ][: max(limit - len(ended), 0)]
        for key in placements:
            del t.placements[key]
    return len(ended) + len(placements)


async def expire_carrier_callbacks(store: MemoryStore, received_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        gone = [token for token, at in t.carrier_callbacks.items() if at < received_before]
        for token in gone[:limit]:
            del t.carrier_callbacks[token]
    return min(len(gone), limit)


async def expire_dead_letters(store: MemoryStore, given_up_before: float, limit: int) -> int:
    async with store.write() as tx:
        t = tx.tables
        gone = [
            letter_id
            for letter_id, row in sorted(t.dead_letters.items())
            if row.letter.given_up_at < given_up_before
        ][:limit]
        for letter_id in gone:
            del t.dead_letters[letter_id]
    return len(gone)


async def compact(store: MemoryStore, older_than: float, keep: int, batch: int) -> int:
    """A prefix of each conference's log, never past the callback cursor (see
    the SQLite store), `batch` events per transaction."""
    t = store.committed()
    cutoffs: list[tuple[str, int]] = []
    for conference_sid, rows in t.events.items():
        old = [row.revision for row in rows if row.time < older_than]
        conference = t.conferences.get(conference_sid)
        if not old or conference is None:
            continue
        cursor = t.webhook_cursors.get(conference_sid)
        upto = min(
            max(old),
            conference.revision - keep,
            conference.revision if cursor is None else cursor.revision,
        )
        if upto > 0:
            cutoffs.append((conference_sid, upto))
    deleted = 0
    for conference_sid, upto in cutoffs:
        while True:
            async with store.write() as tx:
                rows = tx.tables.events.get(conference_sid, ())
                done = 0
                while done < len(rows) and done < batch and rows[done].revision <= upto:
                    done += 1
                tx.tables.events[conference_sid] = rows[done:]
            deleted += done
            if done < batch:
                break
    return deleted
