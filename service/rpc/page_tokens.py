"""List page tokens: opaque, authenticated, and bound to the listing they continue.

Rule 1: a position (the store's creation order, shared by every account) is
        encrypted with AES-GCM under a server key, with a fresh random nonce (two
        tokens for one position differ), so a token reveals nothing.
Rule 2: what a token continues is its associated data (the account, the
        conference as the request names it, every filter), so it opens only for the
        same listing; anything else, a token of another key included, is
        INVALID_ARGUMENT.
Rule 3: the key is kept in the store (service.keys), so replicas sharing the store
        accept each other's tokens and tokens survive restarts.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.core import errors
from service.core.ports.store import ConferenceFilter, ParticipantFilter

META_KEY = "page_token_key"
PREFIX = "PT"
_NONCE = 12
_POSITION = struct.Struct(">cQ")  # direction (a: after, b: before), position
# "PT" + base64url of nonce + ciphertext + tag: 50 characters.
MAX_LENGTH = 64
_DIRECTIONS = (b"a", b"b")


def new_key() -> str:
    return secrets.token_hex(32)


def _invalid() -> errors.RollcallError:
    return errors.invalid_field("page_token", "not a page token this service issued for this list")


def binding(account_sid: str, conference: str, flt: ParticipantFilter) -> bytes:
    """What a token is bound to: the caller's account, the conference as named,
    and every filter (page_size may change from page to page)."""
    parts = (
        "v1",
        account_sid,
        conference,
        f"muted={flt.muted}",
        f"hold={flt.hold}",
        f"coaching={flt.coaching}",
        f"include_ended={flt.include_ended}",
        *(f"attribute={key}={value}" for key, value in flt.attributes),
    )
    return "\x00".join(parts).encode()


def conference_binding(account_sid: str, flt: ConferenceFilter) -> bytes:
    """What a conference-list token is bound to: the caller's account and every filter."""
    parts = (
        "v1-conferences",
        account_sid,
        f"friendly_name={flt.friendly_name!r}",
        f"status={flt.status}",
        f"created={flt.created_from!r},{flt.created_before!r}",
        f"updated={flt.updated_from!r},{flt.updated_before!r}",
    )
    return "\x00".join(parts).encode()


class PageTokens:
    def __init__(self, key_hex: str | None = None) -> None:
        key = bytes.fromhex(key_hex) if key_hex else secrets.token_bytes(32)
        if len(key) not in (16, 24, 32):
            raise ValueError("page token key must be 16, 24 or 32 bytes (hex)")
        self._aead = AESGCM(key)

    def issue(self, after: int | None, before: int | None, bound: bytes) -> str:
        """A token for the page after `after` (or before `before`)."""
        direction, position = (b"a", after) if after is not None else (b"b", before)
        assert position is not None
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, _POSITION.pack(direction, position), bound)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, bound: bytes) -> tuple[int | None, int | None]:
        """(after, before) from a token issued for `bound`; INVALID_ARGUMENT otherwise."""
        if not token.startswith(PREFIX) or len(token) > MAX_LENGTH:
            raise _invalid()
        body = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], bound)
            direction, position = _POSITION.unpack(plain)
        except (ValueError, binascii.Error, InvalidTag, struct.error):
            raise _invalid() from None
        if direction not in _DIRECTIONS:
            raise _invalid()
        return (position, None) if direction == b"a" else (None, position)
