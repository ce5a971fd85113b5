"""REST JSON rendered once per participant revision: same text, never stale."""

from __future__ import annotations

import json

from google.protobuf.timestamp_pb2 import Timestamp

from rollcall.v1 import participant_pb2 as ppb
from service.gateway import render, render_cache


def participant(revision: int, **fields: object) -> ppb.Participant:
    return ppb.Participant(
        account_sid="AC" + "a" * 32,
        call_sid="CA" + "c" * 32,
        conference_sid="CF" + "b" * 32,
        status=ppb.PARTICIPANT_STATUS_CONNECTED,
        date_created=Timestamp(seconds=1_700_000_000),
        date_updated=Timestamp(seconds=1_700_000_000 + revision),
        revision=revision,
        etag=f'"{revision}"',
        **fields,  # type: ignore[arg-type]
    )


def test_the_cached_text_is_what_the_uncached_path_renders() -> None:
    p = participant(3, muted=True)
    body = render_cache.participant_body(p)
    assert body == json.dumps(render.participant_json(p)).encode()
    assert render_cache.participant_body(participant(3, muted=True)) is body


def test_a_new_revision_is_rendered_again() -> None:
    before = json.loads(render_cache.participant_body(participant(4)))
    after = json.loads(render_cache.participant_body(participant(5, muted=True)))
    assert not before["muted"] and after["muted"]
    assert after["date_updated"] != before["date_updated"]


def test_a_create_answer_with_its_queue_time_is_not_cached() -> None:
    p = participant(6, queue_time_ms=12)
    assert json.loads(render_cache.participant_body(p))["queue_time"] == "12"
    assert json.loads(render_cache.participant_body(participant(6)))["queue_time"] is None


def test_the_response_carries_the_etag_and_json() -> None:
    response = render_cache.json_response(participant(7))
    assert response.headers["ETag"] == '"7"'
    assert response.content_type == "application/json"
    assert response.charset == "utf-8"


def test_the_cache_keeps_to_its_limit() -> None:
    for n in range(20):
        render_cache.participant_body(participant(100 + n), limit=8)
    assert len(render_cache._entries) <= 8
