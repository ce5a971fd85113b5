"""service.gateway.sse_frames: an event in parts is framed once per event
and cursor, the same bytes as the message path; other cursors (other
filters) get frames of their own; a redacted revision is rendered again."""

from __future__ import annotations

from service.account_events import AccountEvent
from service.gateway import sse_frames
from tests.sse import event_bytes


def test_a_frame_is_what_the_message_path_sends() -> None:
    item = AccountEvent(event_bytes(4), "AWsame")
    assert sse_frames.encode(item) == sse_frames.encode(item.message())


def test_one_cursor_shares_one_frame_and_other_filters_never_do() -> None:
    body = event_bytes(5)
    first = sse_frames.encode(AccountEvent(body, "AWone"))
    # Another stream at the same position with the same filters: the same cursor.
    assert sse_frames.encode(AccountEvent(body, "AWone")) is first
    # Other filters seal another fingerprint into the cursor: a frame of its own.
    other = sse_frames.encode(AccountEvent(body, "AWother"))
    assert other is not first
    assert b"id: AWother\n" in other and b"id: AWone\n" not in other
    assert other.split(b"data: ")[1] == first.split(b"data: ")[1]  # one rendering


def test_a_revision_redacted_in_place_gets_its_own_frame() -> None:
    before = sse_frames.encode(AccountEvent(event_bytes(6, label="customer +15551230009"), "AWr"))
    after = sse_frames.encode(AccountEvent(event_bytes(6, label=""), "AWr"))
    assert b"+15551230009" in before and b"+15551230009" not in after
