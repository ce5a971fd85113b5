"""The event stream's framing (what EventSource parses) and the CORS origins
setting, without a server."""

from __future__ import annotations

import pytest

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import sse_frames
from service.gateway.cors import parse_origins


def test_origins_are_normalized_and_anything_else_refused() -> None:
    assert parse_origins("") == frozenset()
    assert parse_origins(" https://A.example:8443, http://localhost:3000/ ,") == {
        "https://a.example:8443",
        "http://localhost:3000",
    }
    for bad in ("a.example", "ftp://a.example", "https://a.example/path", "https://u@a.example"):
        with pytest.raises(ValueError, match="http_cors_origins"):
            parse_origins(bad)


def test_each_item_is_one_event_with_its_cursor_as_id() -> None:
    progress = pb.WatchAccountResponse(progress=pb.AccountProgress(), cursor="AWx")
    assert sse_frames.encode(progress) == b": keepalive\nevent: progress\nid: AWx\ndata: {}\n\n"
    done = pb.WatchAccountResponse(
        snapshot_complete=pb.AccountSnapshotComplete(conferences=3), cursor="AWy"
    )
    assert sse_frames.encode(done) == (
        b'event: snapshot-complete\nid: AWy\ndata: {"conferences":3}\n\n'
    )
    event = pb.WatchAccountResponse(
        event=pb.ConferenceEvent(
            revision=4,
            type=pb.CONFERENCE_EVENT_TYPE_PARTICIPANT_MUTED,
            conference=ppb.Conference(
                conference_sid="CF" + "1" * 32, status=ppb.CONFERENCE_STATUS_IN_PROGRESS
            ),
        ),
        cursor="AWz",
    )
    framed = sse_frames.encode(event).decode()
    assert framed.startswith("event: change\nid: AWz\ndata: {")
    assert framed.endswith("}\n\n") and framed.count("\n") == 4  # one data line
    assert '"type":"participant-mute"' in framed and '"revision":4' in framed
    snapshot = pb.WatchAccountResponse(
        conference_snapshot=pb.ConferenceSnapshot(
            conference=ppb.Conference(
                conference_sid="CF" + "1" * 32, status=ppb.CONFERENCE_STATUS_IN_PROGRESS
            )
        )
    )
    assert "\nid:" not in sse_frames.encode(snapshot).decode()  # no cursor, no id
