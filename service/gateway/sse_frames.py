"""The account watch's items as Server-Sent Events frames (gateway.events).

Rule 1: a frame is an optional comment line, `event:`, `id:` when the item
        has a cursor, and one `data:` line of JSON.
Rule 2: an event's `data:` is rendered once per replica, not once per
        stream: its JSON is remembered by the event's own bytes for the other
        streams that send it (a floor watched by a thousand browsers). Not by
        conference and revision: a redaction rewrites a revision's event in
        place, and a stream resuming across it must get the redacted one.
Rule 3: an event in parts (service.account_events) is framed whole and the
        frame remembered by those bytes and its cursor: the streams at one
        position with the same filters (one cursor) send one frame, and
        streams with other filters (another cursor) never share one.
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from clients.words import words_by_number
from rollcall.v1 import enums_pb2, participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import AccountEvent
from service.core.errors import RollcallError
from service.gateway import render
from service.gateway.render_conference import conference_json

_WORDS = words_by_number(pb.ConferenceEventType.DESCRIPTOR)
_ACTOR_WORDS = words_by_number(pb.ActorKind.DESCRIPTOR)
_ROLES = words_by_number(enums_pb2.ParticipantRole.DESCRIPTOR)
_ALERT_WORDS = words_by_number(pb.AlertKind.DESCRIPTOR)


def iso(timestamp: Timestamp) -> str:
    return timestamp.ToJsonString()


def frame(event: str, data: Any, cursor: str = "", comment: str = "") -> bytes:
    """One SSE event: optional comment line, `event:`, `id:` when it has a cursor, `data:`."""
    head = f": {comment}\n" if comment else ""
    head += f"event: {event}\n"
    if cursor:
        head += f"id: {cursor}\n"
    return head.encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def participant_data(p: participant_pb2.Participant) -> dict[str, Any]:
    """Twilio's 15 keys, and Rollcall's own role beside them (this stream is Rollcall's)."""
    data = render.participant_json(p)
    data["role"] = _ROLES.get(p.role, "none")
    data["whisper_targets"] = list(p.whisper_targets)
    return data


def conference_data(snapshot: pb.ConferenceSnapshot) -> dict[str, Any]:
    return {
        "conference": conference_json(snapshot.conference),
        "revision": snapshot.conference.revision,
        "participants": [participant_data(p) for p in snapshot.participants],
    }


def change_data(event: pb.ConferenceEvent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": _WORDS.get(event.type, str(event.type)),
        "revision": event.revision,
        "time": iso(event.time),
        "conference": conference_json(event.conference),
        "participant": (
            participant_data(event.participant) if event.HasField("participant") else None
        ),
        "actor": actor_data(event.actor) if event.HasField("actor") else None,
    }
    if event.move_id:  # the two sides of one move
        data["move"] = {
            "id": event.move_id,
            "from_conference_sid": event.moved_from_conference_sid,
            "to_conference_sid": event.moved_to_conference_sid,
        }
    if event.HasField("alert"):  # a conference-alert's alert
        a = event.alert
        data["alert"] = {
            "kind": _ALERT_WORDS.get(a.kind, str(a.kind)),
            "threshold_seconds": a.threshold_seconds,
            "since": iso(a.since),
            "call_sid": a.call_sid or None,
            "ends_conference": a.ends_conference,
        }
    return data


def actor_data(actor: pb.Actor) -> dict[str, Any]:
    """Who caused a change (status callbacks never carry it; the stream does)."""
    return {
        "kind": _ACTOR_WORDS.get(actor.kind, ""),
        "sid": actor.sid,
        "rule": actor.rule,
        "face": actor.face,
        "peer_address": actor.peer_address,
        "forwarded_for": actor.forwarded_for,
        "request_id": actor.request_id,
    }


class _Rendered:
    """The `data:` of recent events by the event's bytes, and the frames of
    recent events by their bytes and cursor (Rules 2 and 3)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._data: dict[bytes, bytes] = {}
        self._frames: dict[tuple[bytes, str], bytes] = {}

    def change(self, event: pb.ConferenceEvent) -> bytes:
        return self._json(event.SerializeToString(deterministic=True), event)

    def _json(self, key: bytes, event: pb.ConferenceEvent) -> bytes:
        data = self._data.get(key)
        if data is None:
            data = orjson.dumps(change_data(event))
            if len(self._data) >= self._size:
                del self._data[next(iter(self._data))]
            self._data[key] = data
        return data

    def frame(self, item: AccountEvent) -> bytes:
        """The whole `change` frame of an event in parts: the body is the
        event's WatchConferenceResponse bytes, so it names the event as
        exactly as the event's own bytes do."""
        key = (item.body, item.cursor)
        framed = self._frames.get(key)
        if framed is None:
            event = pb.WatchConferenceResponse.FromString(item.body).event
            data = self._json(item.body, event)
            framed = f"event: change\nid: {item.cursor}\ndata: ".encode() + data + b"\n\n"
            if len(self._frames) >= self._size:
                del self._frames[next(iter(self._frames))]
            self._frames[key] = framed
        return framed


_RENDERED = _Rendered()


def encode(item: pb.WatchAccountResponse | AccountEvent) -> bytes:
    """One item of the account watch as SSE (Rules 1 to 3)."""
    if type(item) is AccountEvent:
        return _RENDERED.frame(item)
    assert isinstance(item, pb.WatchAccountResponse)
    which = item.WhichOneof("item")
    if which == "event":
        head = f"event: change\nid: {item.cursor}\n" if item.cursor else "event: change\n"
        return head.encode() + b"data: " + _RENDERED.change(item.event) + b"\n\n"
    if which == "progress":
        return frame("progress", {}, item.cursor, comment="keepalive")
    if which == "conference_snapshot":
        return frame("conference", conference_data(item.conference_snapshot))
    if which == "snapshot_complete":
        return frame(
            "snapshot-complete", {"conferences": item.snapshot_complete.conferences}, item.cursor
        )
    return b": unknown item\n\n"  # a newer service's item: a comment, ignored by clients


def error_data(error: RollcallError) -> dict[str, Any]:
    return {
        "status": error.http_status,
        "code": error.twilio_code if error.twilio_code is not None else error.http_status,
        "reason": error.reason,
        "message": error.message,
    }
