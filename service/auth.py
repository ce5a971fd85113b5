"""Who is calling: HTTP Basic credentials -> the account they act for.

Rule 1: accounts (SID + auth token) and API keys (SK + secret, belonging to one
        configured account) come from configuration.
Rule 2: secrets are compared in constant time (an unknown user costs the same
        comparison as a known one); anything else is UNAUTHENTICATED.
Rule 3: a secret is never logged (each is registered with service.redact) nor
        echoed in an error.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from service import redact
from service.core import errors

_DUMMY = b"\x00" * 32


class Authenticator:
    def __init__(
        self, accounts: dict[str, str], api_keys: dict[str, tuple[str, str]] | None = None
    ) -> None:
        self._accounts = {sid: token.encode() for sid, token in accounts.items()}
        self._keys = {
            sid: (secret.encode(), acct) for sid, (secret, acct) in (api_keys or {}).items()
        }
        for sid, (_, account) in self._keys.items():
            if account not in self._accounts:
                raise ValueError(f"API key {sid} belongs to unknown account {account}")
        for secret in (*accounts.values(), *(secret for secret, _ in (api_keys or {}).values())):
            redact.register_secret(secret)

    @property
    def account_sids(self) -> list[str]:
        """The accounts this server knows (the demo account setting checks it)."""
        return list(self._accounts)

    def auth_token(self, account_sid: str) -> str | None:
        token = self._accounts.get(account_sid)
        return None if token is None else token.decode()

    def authenticate(self, authorization: str | None) -> str:
        """The account SID the credentials act for; UNAUTHENTICATED otherwise."""
        if not authorization:
            raise errors.unauthenticated("Authentication Error - No credentials provided")
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise errors.unauthenticated()
        try:
            # ValueError: a non-ASCII character (b64decode refuses those).
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):  # ValueError: non-ASCII
            raise errors.unauthenticated() from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise errors.unauthenticated()
        secret = password.encode()
        if username in self._keys:
            expected, account = self._keys[username]
        else:
            account = username
            expected = self._accounts.get(username, _DUMMY)
        if hmac.compare_digest(expected, secret) and expected is not _DUMMY:
            return account
        raise errors.unauthenticated()
