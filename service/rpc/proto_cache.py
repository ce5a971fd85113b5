"""Participant protos for Fetch and List answers, built once per participant revision.

Rule 1: every change to a participant stamps it with a new revision (core.changes),
        so (call SID, revision) names one committed state and an entry is never
        stale.
Rule 2: only answers built from committed reads use it (a change's own answer is
        built from its own objects).
Rule 3: what it hands out (the message, a whole Fetch answer, the framed bytes) is
        shared: callers copy messages into their responses and never change them.
Rule 4: oldest entries go first once `limit` is reached.
"""

from __future__ import annotations

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.model import Participant
from service.rpc import messages

DEFAULT_LIMIT = 4096


class _Entry:
    """One participant revision's message, and what is built from it on demand."""

    __slots__ = ("fetched", "framed", "message")

    def __init__(self, message: ppb.Participant) -> None:
        self.message = message
        self.framed: bytes | None = None
        self.fetched: pb.FetchParticipantResponse | None = None


_entries: dict[tuple[str, int], _Entry] = {}


def _entry(p: Participant, limit: int) -> _Entry:
    key = (p.call_sid, p.revision)
    found = _entries.get(key)
    if found is None:
        found = _Entry(messages.participant(p))
        while len(_entries) >= limit:
            del _entries[next(iter(_entries))]
        _entries[key] = found
    return found


def participant(p: Participant, limit: int = DEFAULT_LIMIT) -> ppb.Participant:
    return _entry(p, limit).message


def fetch_response(p: Participant, limit: int = DEFAULT_LIMIT) -> pb.FetchParticipantResponse:
    """A whole Fetch answer (what the in-process REST gateway reads), shared:
    building one copies the participant message into it."""
    entry = _entry(p, limit)
    if entry.fetched is None:
        entry.fetched = pb.FetchParticipantResponse(participant=entry.message)
    return entry.fetched


def framed(p: Participant, limit: int = DEFAULT_LIMIT) -> bytes:
    """The Participant message's bytes as field 1 of an answer: the field of
    FetchParticipantResponse.participant and ListParticipantsResponse.participants."""
    entry = _entry(p, limit)
    if entry.framed is None:
        entry.framed = field(1, entry.message.SerializeToString())
    return entry.framed


def field(number: int, payload: bytes) -> bytes:
    """`payload` as length-delimited field `number` of an enclosing message
    (field numbers below 16: one tag byte). Serialized messages concatenate
    into one message, so an answer is its fields' bytes joined."""
    assert 0 < number < 16
    size = len(payload)
    prefix = bytearray([number << 3 | 2])
    while size > 0x7F:
        prefix.append(size & 0x7F | 0x80)
        size >>= 7
    prefix.append(size)
    return bytes(prefix) + payload
