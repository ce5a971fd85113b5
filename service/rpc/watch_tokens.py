"""Watch tokens: short-lived, read-only credentials for one account's WatchAccount.

Rule 1: a token is minted only with the account's own credentials (an auth
        token or an API key, never another watch token), and is good for
        `ttl_seconds` of the service's clock from then.
Rule 2: a token is sealed like the account watch's cursors (AES-SIV,
        rpc.account_cursor) under its own key derived from the store's page
        token key, so every replica opens every other's and nothing inside
        (the account, the expiry, a random nonce) can be read or changed.
Rule 3: a token opens WatchAccount streams of its account and nothing else:
        it is `Bearer TOKEN`, a scheme service.auth refuses; anything that
        does not open is WATCH_TOKEN_INVALID, a token past its expiry
        WATCH_TOKEN_EXPIRED.
Rule 4: a stream opened by a token ends WATCH_TOKEN_EXPIRED with its first
        item after the expiry (at most a progress interval late: markers
        keep coming), so a leaked token watches for a bounded time; the
        client mints another and resumes from its cursor.
Rule 5: a token is never logged: it rides in an Authorization header (which
        service.redact scrubs) or in `access_token=` (scrubbed likewise).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import AsyncIterator
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from service.clock import Clock
from service.core import errors
from service.rpc.account_cursor import read_varint, varint

PREFIX = "WT"
SCHEME = "bearer"
_VERSION = 1
_NONCE = 8
_INFO = b"rollcall watch token v1"
_BOUND = [b"rollcall-watch-token"]
# The longest token accepted: an account SID and a few numbers, sealed.
MAX_LENGTH = 512

T = TypeVar("T")


class WatchTokens:
    """Mints and opens watch tokens (Rules 1-3)."""

    def __init__(self, key_hex: str | None, clock: Clock, ttl_seconds: float) -> None:
        secret = bytes.fromhex(key_hex) if key_hex else secrets.token_bytes(32)
        derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_INFO).derive(secret)
        self._aead = AESSIV(derived)
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    def mint(self, account_sid: str) -> tuple[str, float]:
        """A token for `account_sid` and when it expires (seconds since the epoch)."""
        expires = self.clock.now() + self.ttl_seconds
        plain = (
            bytes([_VERSION])
            + varint(int(expires * 1000))
            + secrets.token_bytes(_NONCE)
            + account_sid.encode()
        )
        sealed = self._aead.encrypt(plain, _BOUND)
        return PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("="), expires

    def open(self, token: str) -> tuple[str, float]:
        """The account a token was minted for and its expiry; WATCH_TOKEN_INVALID
        or WATCH_TOKEN_EXPIRED otherwise."""
        if not token.startswith(PREFIX) or len(token) > MAX_LENGTH:
            raise errors.watch_token_invalid()
        body = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(raw, _BOUND)
            if not plain or plain[0] != _VERSION:
                raise ValueError("unknown token version")
            expires_ms, at = read_varint(plain, 1)
            account = plain[at + _NONCE :].decode()
            if not account:
                raise ValueError("no account")
        except (ValueError, binascii.Error, InvalidTag, UnicodeDecodeError):
            raise errors.watch_token_invalid() from None
        expires = expires_ms / 1000
        if self.clock.now() >= expires:
            raise errors.watch_token_expired()
        return account, expires


def bearer(authorization: str | None) -> str | None:
    """The token of `Bearer TOKEN`; None for any other credentials."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return value.strip()


async def until_expiry(items: AsyncIterator[T], clock: Clock, expires: float) -> AsyncIterator[T]:
    """`items` until the first one after `expires` (Rule 4); then WATCH_TOKEN_EXPIRED."""
    try:
        async for item in items:
            if clock.now() >= expires:
                raise errors.watch_token_expired()
            yield item
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
