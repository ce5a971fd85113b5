"""Participant protos for read answers, built once per participant revision.

What it owns: a bounded map from (call SID, revision) to the Participant
message messages.participant builds, used by Fetch and List answers (gRPC and,
through the gateway, REST).

The rules it keeps: every change to a participant stamps it with a new
revision (core.changes), so (call SID, revision) names one committed state and
an entry is never stale; only answers built from committed reads use it (a
change's own answer is built from its own objects); the messages it hands
out are shared, so callers copy them into their responses and never change
them. Oldest entries go first once `limit` is reached.
"""

from __future__ import annotations

from rollcall.v1 import participant_pb2 as ppb
from service.core.model import Participant
from service.rpc import messages

DEFAULT_LIMIT = 4096

_entries: dict[tuple[str, int], ppb.Participant] = {}


def participant(p: Participant, limit: int = DEFAULT_LIMIT) -> ppb.Participant:
    key = (p.call_sid, p.revision)
    found = _entries.get(key)
    if found is None:
        found = messages.participant(p)
        while len(_entries) >= limit:
            del _entries[next(iter(_entries))]
        _entries[key] = found
    return found
