"""Reads over one Tables: what a write transaction and a plain read both ask.

Rule 1: each function reads the Tables it is given, all at once (no await),
        so a read sees one state: the committed one, or its transaction's own.
Rule 2: what a function returns is decoded afresh: the caller's own copy.
Rule 3: answers match the SQL stores' queries: a label names the active
        holder, else the latest; creation order breaks every tie.
"""

from __future__ import annotations

from service.core.records import Conference, Participant
from service.store.memory.tables import ConferenceRow, ParticipantRow, Tables
from service.store.rows import is_call_sid


def conference_row(t: Tables, account_sid: str, conference_sid: str) -> ConferenceRow | None:
    row = t.conferences.get(conference_sid)
    return row if row is not None and row.account_sid == account_sid else None


def conference(t: Tables, account_sid: str, conference_sid: str) -> Conference | None:
    row = conference_row(t, account_sid, conference_sid)
    return None if row is None else row.decode()


def active_conference_row(t: Tables, account_sid: str, friendly_name: str) -> ConferenceRow | None:
    for row in t.conferences.values():
        if row.active and row.account_sid == account_sid and row.friendly_name == friendly_name:
            return row
    return None


def active_conference_named(t: Tables, account_sid: str, friendly_name: str) -> Conference | None:
    row = active_conference_row(t, account_sid, friendly_name)
    return None if row is None else row.decode()


def participant_rows(t: Tables, conference_sid: str) -> list[ParticipantRow]:
    """The conference's participants, in creation order."""
    rows = [row for row in t.participants.values() if row.conference_sid == conference_sid]
    return sorted(rows, key=lambda row: row.seq)


def _named(rows: list[ParticipantRow], key: str, include_ended: bool) -> Participant | None:
    """`key` is a call SID or a label: the active one, else the latest."""
    by_sid = is_call_sid(key)
    found = [
        row
        for row in rows
        if (row.call_sid == key if by_sid else row.label == key) and (include_ended or row.active)
    ]
    if not found:
        return None
    return max(found, key=lambda row: (row.active, row.seq)).decode()


def find_participant(
    t: Tables, conference_sid: str, key: str, include_ended: bool
) -> Participant | None:
    return _named(participant_rows(t, conference_sid), key, include_ended)


def participant_in(
    t: Tables, account_sid: str, conference: str, by_sid: bool, key: str, include_ended: bool
) -> Participant | None:
    if by_sid:
        row = conference_row(t, account_sid, conference)
    else:
        row = active_conference_row(t, account_sid, conference)
    if row is None:
        return None
    return _named(participant_rows(t, row.sid), key, include_ended)


def active_participants(t: Tables, conference_sid: str) -> list[Participant]:
    return [row.decode() for row in participant_rows(t, conference_sid) if row.active]
