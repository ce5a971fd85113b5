"""WatchAccount cursors: where an account watch stands, sealed and bound to the account.

Rule 1: a cursor is a Position: the arrival horizon of the account's
        conferences (Store.floor), the conferences at or past it already seen
        and not followed, and the revision reached in each conference
        followed. Conferences are named by their store ord, a few bytes each,
        so a floor of a thousand live conferences fits in a few kilobytes.
Rule 2: a cursor is sealed with AES-SIV under a key derived from the store's
        page token key (so every replica opens every other's), with the
        account as associated data: deterministic (one position, one cursor),
        safe however many are issued, revealing nothing. Anything that does
        not open for the caller's account is CURSOR_INVALID.
Rule 3: a cursor carries a fingerprint of the stream's filters; a resume
        with other filters is CURSOR_FILTER_MISMATCH.
Rule 4: a position changes one conference at a time, so it keeps each
        conference's encoded bytes and issuing a cursor joins them: the cost
        per event is a join and a seal, not an encoding of every conference.
Rule 5: sealing is deterministic, so the seal remembers the cursors it issued
        last, by account and position: the streams of an account that stand
        at the same position (a thousand watchers of one floor) share one
        encryption per event instead of one each.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.core import errors

PREFIX = "AW"
_VERSION = 1
_FINGERPRINT = 8
_INFO = b"rollcall account watch cursor v1"
# The longest cursor accepted (a position of several thousand conferences).
MAX_LENGTH = 65536
# Cursors the seal remembers (Rule 5): a few positions in flight at once.
_REMEMBERED = 64


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fingerprint(
    prefix: str,
    event_types: Iterable[int],
    labels: Iterable[str],
    attributes: Iterable[tuple[str, str]] = (),
) -> bytes:
    """What a cursor's filters are: friendly-name prefix, event types, labels,
    attributes (only when there are some, so older cursors stay valid)."""
    parts = [
        "v1",
        prefix,
        ",".join(str(t) for t in sorted(set(event_types))),
        "\x01".join(sorted(set(labels))),
    ]
    pairs = sorted(set(attributes))
    if pairs:
        parts.append("\x01".join(f"{key}={value}" for key, value in pairs))
    canonical = "\x00".join(parts)
    return hashlib.sha256(canonical.encode()).digest()[:_FINGERPRINT]


class Position:
    """A stream's position (Rule 1), kept ready to encode (Rule 4)."""

    def __init__(
        self,
        filters: bytes,
        horizon: int,
        seen: Iterable[int] = (),
        at: dict[int, int] | None = None,
    ) -> None:
        self.filters = filters
        self.horizon = horizon
        self.seen: set[int] = set(seen)
        self._at: dict[int, int] = {}
        self._chunks: dict[int, bytes] = {}
        # Chunks in ord order; None while membership changed since the last join.
        self._ordered: list[bytes] | None = None
        self._slot: dict[int, int] = {}
        for ord_, revision in (at or {}).items():
            self.set(ord_, revision)

    @property
    def at(self) -> dict[int, int]:
        """The revision reached in each conference followed, by ord (read only)."""
        return self._at

    def set(self, ord_: int, revision: int) -> None:
        chunk = varint(ord_) + varint(revision)
        self._at[ord_] = revision
        if ord_ in self._chunks and self._ordered is not None:
            self._ordered[self._slot[ord_]] = chunk
        else:
            self._ordered = None
        self._chunks[ord_] = chunk

    def drop(self, ord_: int) -> None:
        if self._at.pop(ord_, None) is not None:
            del self._chunks[ord_]
            self._ordered = None

    def encode(self) -> bytes:
        if self._ordered is None:
            order = sorted(self._chunks)
            self._slot = {ord_: i for i, ord_ in enumerate(order)}
            self._ordered = [self._chunks[ord_] for ord_ in order]
        seen = sorted(self.seen)
        head = bytearray([_VERSION])
        head += self.filters
        head += varint(self.horizon)
        head += varint(len(seen))
        for ord_ in seen:
            head += varint(ord_)
        head += varint(len(self._ordered))
        return bytes(head) + b"".join(self._ordered)

    @classmethod
    def decode(cls, data: bytes) -> Position:
        """ValueError when `data` is not an encoded position."""
        if not data or data[0] != _VERSION or len(data) < 1 + _FINGERPRINT:
            raise ValueError("unknown cursor version")
        at = 1 + _FINGERPRINT
        filters = data[1:at]
        horizon, at = read_varint(data, at)
        count, at = read_varint(data, at)
        seen = []
        for _ in range(count):
            ord_, at = read_varint(data, at)
            seen.append(ord_)
        count, at = read_varint(data, at)
        revisions: dict[int, int] = {}
        for _ in range(count):
            ord_, at = read_varint(data, at)
            revisions[ord_], at = read_varint(data, at)
        if at != len(data):
            raise ValueError("trailing bytes")
        return cls(filters, horizon, seen, revisions)


class CursorSeal:
    """Seals positions into cursors and opens them (Rule 2)."""

    def __init__(self, key_hex: str | None = None) -> None:
        secret = bytes.fromhex(key_hex) if key_hex else secrets.token_bytes(32)
        derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_INFO).derive(secret)
        self._aead = AESSIV(derived)
        self._recent: dict[tuple[str, bytes], str] = {}

    @staticmethod
    def _bound(account_sid: str) -> list[bytes]:
        return [b"rollcall-account-cursor\x00" + account_sid.encode()]

    def seal(self, account_sid: str, plain: bytes) -> str:
        key = (account_sid, plain)
        cursor = self._recent.get(key)
        if cursor is None:  # Rule 5
            sealed = self._aead.encrypt(plain, self._bound(account_sid))
            cursor = PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")
            if len(self._recent) >= _REMEMBERED:
                del self._recent[next(iter(self._recent))]
            self._recent[key] = cursor
        return cursor

    def open(self, account_sid: str, cursor: str, filters: bytes) -> Position:
        """The position of a cursor issued for this account and these filters."""
        if not cursor.startswith(PREFIX) or len(cursor) > MAX_LENGTH:
            raise errors.cursor_invalid()
        body = cursor[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            position = Position.decode(self._aead.decrypt(raw, self._bound(account_sid)))
        except (ValueError, binascii.Error, InvalidTag):
            raise errors.cursor_invalid() from None
        if position.filters != filters:
            raise errors.cursor_filter_mismatch()
        return position
