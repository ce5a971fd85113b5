"""Participants rendered once per revision, in each form a face sends; answers already serialized.

Rule 1: every change to a participant stamps it with a new revision
        (core.changes), so (call SID, revision) names one committed state and
        an entry is never stale. Only committed reads go through the cache
        (a change's own answer is rendered afresh).
Rule 2: one entry holds what each face sends, each built on first use: the
        proto message (rpc.messages.participant), its bytes as an answer's
        field, and the REST JSON bytes (gateway.render.participant_json_bytes).
        The renderers are handed in by the app, so this module knows neither face.
Rule 3: nothing handed out can be changed: entries are read-only (bytes and
        strings), the shared message never leaves its entry (`message()` is a
        copy), and a Prebuilt answer is bytes plus the entries it was joined from.
Rule 4: the app owns one Renders and sizes it; the oldest entries go first
        once it is full.
Rule 5: a Prebuilt answer's bytes are exactly what its message type's own
        SerializeToString would give (serialized messages concatenate), so
        the gRPC codec (rpc.codec) sends them as they are.
Rule 6: a List page's participants, joined, are remembered by the page's list
        itself (held, so never confused with a later one; the last PAGES):
        a store hands the same list to every reader until its next commit
        (its page cache), and a page read from the store is never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, final

from google.protobuf.message import Message

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.records import Participant

M = TypeVar("M", bound=Message)

DEFAULT_ENTRIES = 4096
# Pages whose joined participants are remembered (Rule 6).
PAGES = 64

ToMessage = Callable[[Participant], ppb.Participant]
ToJson = Callable[[ppb.Participant], bytes]

# The field that holds the participant(s) in Fetch and List answers: one number,
# so one framed form of a participant serves both.
PARTICIPANT_FIELD = pb.FetchParticipantResponse.DESCRIPTOR.fields_by_name["participant"].number
_LIST_FIELD = pb.ListParticipantsResponse.DESCRIPTOR.fields_by_name["participants"].number
assert _LIST_FIELD == PARTICIPANT_FIELD


def field(number: int, payload: bytes) -> bytes:
    """`payload` as length-delimited field `number` (below 16: one tag byte)
    of an enclosing message: protobuf's wire format, where an answer is its
    fields' bytes joined."""
    assert 0 < number < 16
    size = len(payload)
    prefix = bytearray([number << 3 | 2])
    while size > 0x7F:
        prefix.append(size & 0x7F | 0x80)
        size >>= 7
    prefix.append(size)
    return bytes(prefix) + payload


class _ReadOnly:
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")


@final
class Rendered(_ReadOnly):
    """One participant revision as each face sends it (Rule 2), read-only (Rule 3)."""

    __slots__ = ("_framed", "_json", "_message", "_to_json", "call_sid", "etag", "revision")

    call_sid: str
    revision: int
    etag: str
    _message: ppb.Participant
    _framed: bytes | None
    _json: bytes | None
    _to_json: ToJson | None

    def __init__(self, message: ppb.Participant, to_json: ToJson | None) -> None:
        """`message` becomes the entry's own: nobody else may hold it."""
        put = object.__setattr__
        put(self, "_message", message)
        put(self, "_to_json", to_json)
        put(self, "_framed", None)
        put(self, "_json", None)
        put(self, "call_sid", message.call_sid)
        put(self, "revision", message.revision)
        put(self, "etag", message.etag)

    def message(self) -> ppb.Participant:
        """A copy of the participant's message, the caller's to keep or change."""
        copy = ppb.Participant()
        copy.CopyFrom(self._message)
        return copy

    @property
    def framed(self) -> bytes:
        """The message's bytes as the participant field of a Fetch or List answer."""
        framed = self._framed
        if framed is None:
            framed = field(PARTICIPANT_FIELD, self._message.SerializeToString())
            object.__setattr__(self, "_framed", framed)
        return framed

    @property
    def json(self) -> bytes:
        """The REST JSON of the participant, UTF-8."""
        body = self._json
        if body is None:
            if self._to_json is None:
                raise LookupError("no REST renderer was given to this cache")
            body = self._to_json(self._message)
            object.__setattr__(self, "_json", body)
        return body


@final
class Prebuilt(_ReadOnly, Generic[M]):
    """An answer already serialized (Rule 5): `wire` goes out as it is; `message()`
    is a fresh copy; `rendered` the participants it was joined from, if any."""

    __slots__ = ("_type", "rendered", "wire")

    wire: bytes
    rendered: tuple[Rendered, ...]
    _type: type[M]

    def __init__(
        self, message_type: type[M], wire: bytes, rendered: Iterable[Rendered] = ()
    ) -> None:
        put = object.__setattr__
        put(self, "_type", message_type)
        put(self, "wire", wire)
        put(self, "rendered", tuple(rendered))

    def message(self) -> M:
        return self._type.FromString(self.wire)


class Renders:
    """The app's cache of rendered participants (Rules 1 and 4)."""

    def __init__(
        self,
        to_message: ToMessage | None,
        to_json: ToJson | None = None,
        entries: int = DEFAULT_ENTRIES,
    ) -> None:
        """`to_message` None: a cache of received messages only (of_message)."""
        if entries < 1:
            raise ValueError("a render cache holds at least one entry")
        self.to_message = to_message
        self.to_json = to_json
        self.entries = entries
        self._cache: dict[tuple[str, int], Rendered] = {}
        # id(page list) -> (that list, its participants joined, their entries).
        self._pages: dict[int, tuple[Sequence[Participant], bytes, tuple[Rendered, ...]]] = {}

    @property
    def size(self) -> int:
        """Entries held now."""
        return len(self._cache)

    def of(self, p: Participant) -> Rendered:
        """The rendered forms of `p`, a committed state read from the store."""
        key = (p.call_sid, p.revision)
        found = self._cache.get(key)
        if found is None:
            if self.to_message is None:
                raise LookupError("no message renderer was given to this cache")
            found = self._keep(key, Rendered(self.to_message(p), self.to_json))
        return found

    def of_message(self, message: ppb.Participant) -> Rendered:
        """The rendered forms of a participant received as a message (which
        becomes the entry's own: the caller must not keep it)."""
        key = (message.call_sid, message.revision)
        found = self._cache.get(key)
        if found is None:
            found = self._keep(key, Rendered(message, self.to_json))
        return found

    def _keep(self, key: tuple[str, int], rendered: Rendered) -> Rendered:
        cache = self._cache
        while len(cache) >= self.entries:
            del cache[next(iter(cache))]
        cache[key] = rendered
        return rendered

    def fetched(self, p: Participant) -> Prebuilt[pb.FetchParticipantResponse]:
        """A Fetch answer for `p`."""
        rendered = self.of(p)
        return Prebuilt(pb.FetchParticipantResponse, rendered.framed, (rendered,))

    def listed(
        self, participants: Sequence[Participant], rest: pb.ListParticipantsResponse
    ) -> Prebuilt[pb.ListParticipantsResponse]:
        """A List answer: the page's participants, then `rest` (its other fields)."""
        joined = self._pages.get(id(participants))
        if joined is None or joined[0] is not participants:
            rendered = tuple([self.of(p) for p in participants])
            joined = (participants, b"".join([r.framed for r in rendered]), rendered)
            pages = self._pages
            while len(pages) >= PAGES:
                del pages[next(iter(pages))]
            pages[id(participants)] = joined
        _, wire, rendered = joined
        return Prebuilt(pb.ListParticipantsResponse, wire + rest.SerializeToString(), rendered)
