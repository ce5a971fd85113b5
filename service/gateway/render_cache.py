"""REST JSON of a fetched participant, rendered once per participant revision.

Rule 1: every change to a participant gives it a new revision, so (call SID,
        revision) names one committed state and an entry is never stale.
Rule 2: the bytes are exactly what the uncached path sends (render.participant_json
        through aiohttp's json_response, with its Content-Type and the ETag).
Rule 3: a participant without a revision or with a queue time (a Create's answer)
        is rendered afresh; oldest entries go first once `limit` is reached.
"""

from __future__ import annotations

import json

from aiohttp import hdrs, web

from rollcall.v1 import participant_pb2
from service.gateway import render

DEFAULT_LIMIT = 4096

_entries: dict[tuple[str, int], bytes] = {}


def participant_body(p: participant_pb2.Participant, limit: int = DEFAULT_LIMIT) -> bytes:
    """The JSON as UTF-8 bytes, what the response sends (encoded once per entry)."""
    if not p.revision or p.HasField("queue_time_ms"):
        return json.dumps(render.participant_json(p)).encode()
    key = (p.call_sid, p.revision)
    found = _entries.get(key)
    if found is None:
        found = json.dumps(render.participant_json(p)).encode()
        while len(_entries) >= limit:
            del _entries[next(iter(_entries))]
        _entries[key] = found
    return found


_JSON = "application/json; charset=utf-8"


def json_response(p: participant_pb2.Participant) -> web.Response:
    """200 with the participant's JSON and its ETag (as the uncached path answers)."""
    headers = {hdrs.CONTENT_TYPE: _JSON}
    if p.etag:
        headers[hdrs.ETAG] = p.etag if p.etag.startswith(('"', 'W/"')) else f'"{p.etag}"'
    return web.Response(body=participant_body(p), headers=headers)
