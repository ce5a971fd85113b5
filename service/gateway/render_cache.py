"""REST JSON of a fetched participant, rendered once per participant revision.

What it owns: a bounded map from (call SID, revision) to the JSON text of
Twilio's Participant resource, so a participant fetched again and again (a
client polling its status) is rendered (dates, URI, JSON encoding) once per
change instead of once per request; and the JSON response built from it.

The rules it keeps: every change to a participant gives it a new revision, so
(call SID, revision) names one committed state and an entry is never stale;
the text is exactly what the uncached path renders (render.participant_json
through aiohttp's json_response); a participant without a revision or with a
queue time (a Create's answer) is rendered afresh. Oldest entries go first
once `limit` is reached.
"""

from __future__ import annotations

import json

from aiohttp import hdrs, web

from rollcall.v1 import participant_pb2
from service.gateway import render

DEFAULT_LIMIT = 4096

_entries: dict[tuple[str, int], str] = {}


def participant_text(p: participant_pb2.Participant, limit: int = DEFAULT_LIMIT) -> str:
    if not p.revision or p.HasField("queue_time_ms"):
        return json.dumps(render.participant_json(p))
    key = (p.call_sid, p.revision)
    found = _entries.get(key)
    if found is None:
        found = json.dumps(render.participant_json(p))
        while len(_entries) >= limit:
            del _entries[next(iter(_entries))]
        _entries[key] = found
    return found


def json_response(p: participant_pb2.Participant) -> web.Response:
    """200 with the participant's JSON and its ETag (as the uncached path answers)."""
    headers = {}
    if p.etag:
        headers[hdrs.ETAG] = p.etag if p.etag.startswith(('"', 'W/"')) else f'"{p.etag}"'
    return web.Response(text=participant_text(p), headers=headers, content_type="application/json")
