"""Who is calling: HTTP Basic credentials -> the account they act for.

Rule 1: accounts (SID + auth token) and API keys (SK + secret, belonging to one
        configured account) come from configuration.
Rule 2: secrets are compared in constant time (an unknown user costs the same
        comparison as a known one); anything else is UNAUTHENTICATED.
Rule 3: a secret is never logged (each is registered with service.redact) nor
        echoed in an error.
Rule 4: failures are counted and, given a LoginThrottle, slowed down per source
        and per account (service.logins): a caller over its budget is refused
        before its credentials are checked.
Rule 5: a secret shorter than MIN_SECRET characters is refused at start
        (check_secrets), unless short ones are allowed (tests), which is logged.
Rule 6: once authenticated, the caller is the actor of what it changes
        (service.core.actors): the account or API key SID, the face, its
        address, the client address a trusted proxy forwarded (the nearest
        untrusted address of X-Forwarded-For, and only when the peer itself is
        a trusted proxy), and the request id (the client's, else a new one).
Rule 7: an Authorization value once verified is remembered (at most
        VERIFIED_ENTRIES, the oldest forgotten first) with the account it
        acts for, so a caller's next request skips decoding and comparing;
        the throttle still judges every request (Rule 4) and failures are
        never remembered. Credentials are fixed for an Authenticator's life
        (configuration, read at start), so nothing it remembers can outlive
        the credential it was checked against: new credentials mean a new
        Authenticator, with nothing remembered.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import itertools
import logging
import secrets
from collections.abc import Sequence

from service import logins, redact
from service.core import actors, errors

log = logging.getLogger("rollcall.auth")

_DUMMY = b"\x00" * 32
MIN_SECRET = 32
# Authorization values remembered once verified (Rule 7): one or two per
# credential in use (SDKs send one spelling each), so this is plenty.
VERIFIED_ENTRIES = 1024


def check_secrets(
    accounts: dict[str, str], api_keys: dict[str, tuple[str, str]], *, allow_short: bool
) -> None:
    """Refuse account tokens and API key secrets shorter than MIN_SECRET (Rule 5),
    naming the account or key, never the secret."""
    short = [sid for sid, token in accounts.items() if len(token) < MIN_SECRET]
    short += [sid for sid, (secret, _) in api_keys.items() if len(secret) < MIN_SECRET]
    if not short:
        return
    if allow_short:
        log.warning(
            "short secrets allowed (ROLLCALL_ALLOW_SHORT_SECRETS): for tests only",
            extra={"sids": ",".join(short)},
        )
        return
    raise ValueError(
        f"the auth token or API key secret of {', '.join(short)} is shorter than"
        f" {MIN_SECRET} characters: use a random secret of at least {MIN_SECRET}"
        " (ROLLCALL_ALLOW_SHORT_SECRETS=true allows short ones, for tests only)"
    )


class Authenticator:
    def __init__(
        self,
        accounts: dict[str, str],
        api_keys: dict[str, tuple[str, str]] | None = None,
        *,
        throttle: logins.LoginThrottle | None = None,
        trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
    ) -> None:
        self.throttle = throttle
        self.trusted_proxies = tuple(trusted_proxies)
        self._accounts = {sid: token.encode() for sid, token in accounts.items()}
        self._keys = {
            sid: (secret.encode(), acct) for sid, (secret, acct) in (api_keys or {}).items()
        }
        for sid, (_, account) in self._keys.items():
            if account not in self._accounts:
                raise ValueError(f"API key {sid} belongs to unknown account {account}")
        for secret in (*accounts.values(), *(secret for secret, _ in (api_keys or {}).values())):
            redact.register_secret(secret)
        # Authorization value -> (username, account), verified (Rule 7).
        self._verified: dict[str, tuple[str, str]] = {}

    @property
    def account_sids(self) -> list[str]:
        """The accounts this server knows (the demo account setting checks it)."""
        return list(self._accounts)

    def auth_token(self, account_sid: str) -> str | None:
        token = self._accounts.get(account_sid)
        return None if token is None else token.decode()

    def actor(self, username: str, caller: logins.Caller) -> actors.Actor:
        """The actor of an authenticated caller's changes (Rule 6)."""
        kind = actors.ActorKind.API_KEY if username in self._keys else actors.ActorKind.ACCOUNT
        return actors.Actor(
            kind,
            sid=username,
            face=caller.face,
            peer=caller.peer,
            forwarded_for=forwarded_client(caller.peer, caller.forwarded, self.trusted_proxies),
            request_id=request_id(caller.request_id),
        )

    def authenticate(self, authorization: str | None) -> str:
        """The account SID the credentials act for; UNAUTHENTICATED otherwise
        (RESOURCE_EXHAUSTED once the caller has failed too often: Rule 4)."""
        caller = logins.caller()
        verified = self._verified.get(authorization) if authorization else None
        if verified is not None:
            sid, account = verified
            if self.throttle is not None:
                self.throttle.check(caller.source, account)
            actors.acting_deferred(lambda: self.actor(sid, caller))
            return account
        username, password = _credentials(authorization)
        if username in self._keys:
            expected, account = self._keys[username]
        else:
            account = username or ""
            expected = self._accounts.get(account, _DUMMY)
        known = account if expected is not _DUMMY else None
        if self.throttle is not None:
            self.throttle.check(caller.source, known)
        matched = password is not None and hmac.compare_digest(expected, password.encode())
        if matched and expected is not _DUMMY:
            assert authorization is not None and username is not None
            self._remember(authorization, username, account)
            name = username
            actors.acting_deferred(lambda: self.actor(name, caller))
            return account
        if not authorization:
            reason = "missing"
        elif password is None:
            reason = "malformed"
        else:
            reason = "wrong_secret" if known is not None else "unknown_user"
        logins.FAILURES.labels(caller.face, reason).inc()
        if self.throttle is not None:
            self.throttle.failed(caller.source, known)
        if reason == "missing":
            raise errors.unauthenticated("Authentication Error - No credentials provided")
        raise errors.unauthenticated()

    def _remember(self, authorization: str, username: str, account: str) -> None:
        verified = self._verified
        while len(verified) >= VERIFIED_ENTRIES:
            del verified[next(iter(verified))]
        verified[authorization] = (username, account)


NetworkT = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, networks: Sequence[NetworkT]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded: str, proxies: Sequence[NetworkT]) -> str:
    """The client address X-Forwarded-For names, when `peer` is a trusted proxy:
    the nearest address that is not one ('' when the peer is not trusted)."""
    if not forwarded or not proxies or not _trusted(peer, proxies):
        return ""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else ""


def parse_networks(spec: str) -> list[NetworkT]:
    """'10.0.0.0/8, ::1/128' -> networks (the trusted_proxies setting)."""
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    ]


# A new request id: this process's random half, then a count (32 hex digits,
# unique without asking the OS for randomness on every call).
_ID_PREFIX = "RQ" + secrets.token_hex(8)
_ids = itertools.count(secrets.randbelow(1 << 32))


def request_id(given: str) -> str:
    """The request's id: the client's (printable, at most 128 characters), else a new one."""
    if given and len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return f"{_ID_PREFIX}{next(_ids) & 0xFFFFFFFFFFFFFFFF:016x}"


def _credentials(authorization: str | None) -> tuple[str | None, str | None]:
    """(username, password) of HTTP Basic credentials; (None, None) when there
    are none or they are malformed."""
    if not authorization:
        return None, None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        # ValueError: a non-ASCII character (b64decode refuses those).
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None, None
    return username, password
