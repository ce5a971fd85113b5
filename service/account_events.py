"""An account watch's items in process: events in parts, and a mark where the stream waits.

Rule 1: an AccountEvent is one event of one account stream as two parts:
        `body`, the event's WatchConferenceResponse bytes (from the
        conference feed's cache, one bytes object for every stream that
        sends that event), and `cursor`, the position after it (one string
        for every stream of the account at that position and with those
        filters: rpc.account_cursor Rule 5). The SSE face frames it from the
        two without decoding anything (gateway.events Rule 7).
Rule 2: `wire()` is exactly the WatchAccountResponse it stands for (the two
        messages number their event field alike, and serialized messages
        concatenate), so `message()` is that response.
Rule 3: IDLE comes after everything the stream has to send for now, just
        before it waits for news: a consumer may hold the items before it and
        send them at once (one write for a stream that fell behind). A stream
        yields it only when asked for parts; gRPC never sees it.
Rule 4: PARK, sent into such a stream at its IDLE (`asend`), parks it: it
        reads and sends nothing more, but counts against the account's
        watchers until closed (rpc.account_stream Rule 4).
"""

from __future__ import annotations

from typing import Final, final

from rollcall.v1 import participant_service_pb2 as pb
from service.renders import Prebuilt

_EVENT_FIELD = pb.WatchAccountResponse.DESCRIPTOR.fields_by_name["event"].number
assert pb.WatchConferenceResponse.DESCRIPTOR.fields_by_name["event"].number == _EVENT_FIELD
_CURSOR_FIELD = pb.WatchAccountResponse.DESCRIPTOR.fields_by_name["cursor"].number
_CURSOR_TAG = bytes([_CURSOR_FIELD << 3 | 2])


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@final
class AccountEvent:
    """One event and the cursor after it (Rule 1)."""

    __slots__ = ("body", "cursor")

    def __init__(self, body: bytes, cursor: str) -> None:
        self.body = body
        self.cursor = cursor

    def wire(self) -> bytes:
        cursor = self.cursor.encode()
        return self.body + _CURSOR_TAG + _varint(len(cursor)) + cursor

    def message(self) -> pb.WatchAccountResponse:
        return pb.WatchAccountResponse.FromString(self.wire())


@final
class Idle:
    """The type of IDLE (Rule 3)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "IDLE"


IDLE: Final = Idle()
PARK: Final = object()

# What an account stream yields: messages (a snapshot's items, progress),
# serialized events for gRPC, or events in parts and IDLE (Rules 1 and 3).
AccountItem = pb.WatchAccountResponse | Prebuilt[pb.WatchAccountResponse] | AccountEvent | Idle
