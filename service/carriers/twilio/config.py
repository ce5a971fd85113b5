"""Upstream credentials and knobs of the Twilio adapter.

Rule 1: each Rollcall account maps to at most one upstream account (a Twilio
        subaccount per tenant is the usual shape).
Rule 2: an upstream account's auth token is always known, even when REST requests
        authenticate with an API key: Twilio signs its callbacks with it.
Rule 3: secrets never appear in a repr or an error message (a bad entry is named
        by its Rollcall account only).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

DEFAULT_BASE_URL = "https://api.twilio.com"

_AC = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SK = re.compile(r"^SK[0-9a-fA-F]{32}$")


@dataclasses.dataclass(frozen=True)
class UpstreamAccount:
    """One upstream account: its SID, auth token and, optionally, an API key."""

    account_sid: str
    auth_token: str = dataclasses.field(repr=False)
    api_key_sid: str | None = None
    api_key_secret: str | None = dataclasses.field(default=None, repr=False)

    @property
    def basic_auth(self) -> tuple[str, str]:
        """(user, password) for HTTP Basic: the API key when given, else the account."""
        if self.api_key_sid and self.api_key_secret:
            return self.api_key_sid, self.api_key_secret
        return self.account_sid, self.auth_token


@dataclasses.dataclass(frozen=True)
class TwilioOptions:
    base_url: str = DEFAULT_BASE_URL
    # Calls placed per second per upstream account (Twilio's default CPS: 1); 0 = unlimited.
    calls_per_second: float = 1.0
    # A carrier not answering within this many seconds (retries included) is UNAVAILABLE.
    unavailable_after_seconds: float = 10.0
    connect_timeout_seconds: float = 3.0
    request_timeout_seconds: float = 10.0
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 5.0
    # Attempts to place one call after ambiguous failures (each followed by a lookup).
    max_place_attempts: int = 3


def signing_tokens(accounts: Mapping[str, UpstreamAccount]) -> dict[str, str]:
    """Upstream account SID -> the auth token its callbacks are signed with."""
    return {a.account_sid: a.auth_token for a in accounts.values()}


def tenants(accounts: Mapping[str, UpstreamAccount]) -> dict[str, frozenset[str]]:
    """Upstream account SID -> the Rollcall accounts a report from it may touch."""
    found: dict[str, set[str]] = {}
    for local, upstream in accounts.items():
        found.setdefault(upstream.account_sid, set()).add(local)
    return {sid: frozenset(locals_) for sid, locals_ in found.items()}


def parse_upstream_accounts(spec: str) -> dict[str, UpstreamAccount]:
    """'ACrollcall=ACupstream:TOKEN[:SKkey:SECRET],...' -> {Rollcall account: upstream}.

    Raises ValueError naming the bad entry by its Rollcall account only.
    """
    accounts: dict[str, UpstreamAccount] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        local, sep, rest = item.partition("=")
        local = local.strip()
        if not sep or not _AC.match(local):
            raise ValueError("bad upstream account entry: expected ACROLLCALL=ACUPSTREAM:TOKEN")
        parts = rest.split(":")
        if len(parts) not in (2, 4) or not all(parts) or not _AC.match(parts[0]):
            raise ValueError(
                f"bad upstream account entry for {local}: expected"
                " ACUPSTREAM:AUTHTOKEN or ACUPSTREAM:AUTHTOKEN:SKKEY:SECRET"
            )
        if len(parts) == 4 and not _SK.match(parts[2]):
            raise ValueError(f"bad upstream account entry for {local}: the API key must be SK...")
        if local in accounts:
            raise ValueError(f"bad upstream account entry for {local}: given more than once")
        key_sid, key_secret = (parts[2], parts[3]) if len(parts) == 4 else (None, None)
        accounts[local] = UpstreamAccount(parts[0], parts[1], key_sid, key_secret)
    return accounts
