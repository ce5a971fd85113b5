"""Failed logins: who is calling from where, and slowing down those who keep failing.

Rule 1: each face says who is calling before it authenticates (`calling`): its
        name (grpc, rest) and the source address (an IPv6 source by its /64,
        what one host can hold); the Authenticator reads it.
Rule 2: failures are counted per source and per configured account in token
        buckets on the injected clock: a burst, then so many a minute. A
        source over its budget is refused before its credentials are even
        checked: RESOURCE_EXHAUSTED TOO_MANY_FAILED_LOGINS (REST 429, Twilio
        20429) with the seconds to wait (retry_after_seconds: RetryInfo,
        Retry-After).
Rule 3: an account over its budget (many sources failing on it) is refused
        only to sources that failed lately; a source that has not failed is
        still checked, so the owner's right credentials keep working while
        each attacking source gets one guess per recovery of the account.
Rule 4: every failure is counted by face and reason
        (rollcall_login_failures_total); refusals are logged as one WARNING
        line naming the source, at most one every LOG_EVERY seconds (with how
        many were refused since), never the credential.
Rule 5: memory is bounded: sources whose bucket is full again are forgotten,
        and at most MAX_SOURCES are tracked (the oldest go first).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import ipaddress
import logging
import math

from prometheus_client import Counter

from service.clock import Clock
from service.config import Settings
from service.core import errors
from service.metrics import REGISTRY

log = logging.getLogger("rollcall.auth")

MAX_SOURCES = 65_536
LOG_EVERY = 10.0

FAILURES = Counter(
    "rollcall_login_failures_total",
    "Failed logins, by face (grpc, rest) and reason (missing, malformed, unknown_user,"
    " wrong_secret, throttled).",
    ["face", "reason"],
    registry=REGISTRY,
)


@dataclasses.dataclass(frozen=True)
class Caller:
    face: str = "internal"
    source: str = ""  # '' when the face has no address (the bucket is skipped)
    # For the actor of the caller's changes (service.auth): the address as the
    # face saw it, the X-Forwarded-For value the request carried (believed
    # only from a trusted proxy), and the request's id.
    peer: str = ""
    forwarded: str = ""
    request_id: str = ""


_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "rollcall_caller", default=None
)


@functools.lru_cache(maxsize=4096)
def source_of(address: str | None) -> str:
    """An address as the throttle keys it: IPv4 as is (a mapped IPv6 address
    too), IPv6 by its /64; anything else (unix sockets) as given. Remembered
    (a pure function of the text; parsing costs more than a call's own work)."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def grpc_source(peer: str | None) -> str:
    """gRPC's peer string (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`) -> its address's key."""
    host = grpc_host(peer)
    return source_of(host) if host != peer else host


def grpc_host(peer: str | None) -> str:
    """gRPC's peer string -> its address without the port (`1.2.3.4`, `::1`);
    anything else (a unix socket) as given."""
    if not peer:
        return ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0].strip("[]")
    return peer


def calling(
    face: str, source: str, *, peer: str = "", forwarded: str = "", request_id: str = ""
) -> None:
    """Say who is calling, for the Authenticator (Rule 1): set in the task that serves
    the call, before it authenticates. A caller is immutable, so the same one
    is handed out again for the same words (a connection's calls all say the
    same, and a frozen dataclass costs more to make than to look up); one
    naming its own request id is made afresh (each request's is its own)."""
    forwarded = forwarded[:512]
    if request_id:
        _CALLER.set(Caller(face, source, peer, forwarded, request_id))
        return
    key = (face, source, peer, forwarded)
    found = _callers.get(key)
    if found is None:
        found = Caller(face, source, peer, forwarded)
        while len(_callers) >= _CALLERS:
            del _callers[next(iter(_callers))]
        _callers[key] = found
    _CALLER.set(found)


# Callers lately said without a request id (`calling`): bounded, the oldest
# forgotten first.
_CALLERS = 4096
_callers: dict[tuple[str, str, str, str], Caller] = {}


def caller() -> Caller:
    return _CALLER.get() or _NOBODY


_NOBODY = Caller()


@dataclasses.dataclass(frozen=True)
class Budget:
    burst: int
    per_minute: float

    @property
    def on(self) -> bool:
        return self.burst > 0

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class _Buckets:
    """Token buckets by key: (tokens, time of last refill); full ones are forgotten."""

    def __init__(self, budget: Budget, clock: Clock) -> None:
        self.budget = budget
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def tokens(self, key: str) -> float:
        found = self._buckets.get(key)
        if found is None:
            return float(self.budget.burst)
        tokens, then = found
        tokens = min(
            float(self.budget.burst), tokens + (self.clock.now() - then) * self.budget.per_second
        )
        if tokens >= self.budget.burst:
            del self._buckets[key]  # recovered: nothing to remember (Rule 5)
        return tokens

    def take(self, key: str) -> None:
        tokens = self.tokens(key) - 1.0
        self._buckets.pop(key, None)  # re-inserted last: the newest (Rule 5)
        self._buckets[key] = (tokens, self.clock.now())
        while len(self._buckets) > MAX_SOURCES:
            del self._buckets[next(iter(self._buckets))]

    def wait(self, key: str) -> float:
        """Seconds until the key has a token again."""
        missing = 1.0 - self.tokens(key)
        return missing / self.budget.per_second if self.budget.per_second > 0 else math.inf


class LoginThrottle:
    def __init__(self, clock: Clock, per_source: Budget, per_account: Budget) -> None:
        self.clock = clock
        self._sources = _Buckets(per_source, clock)
        self._accounts = _Buckets(per_account, clock)
        self._refused = 0
        self._logged_at: float | None = None

    def check(self, source: str, account: str | None) -> None:
        """Refuse a caller over its budget before its credentials are checked."""
        sources, accounts = self._sources, self._accounts
        if source and sources.budget.on and sources.tokens(source) < 1.0:
            self._refuse(source, account, sources.wait(source))
        # Rule 3: an account under attack is refused only to sources that failed lately.
        attacked = account is not None and accounts.budget.on and accounts.tokens(account) < 1.0
        if attacked and (not source or sources.tokens(source) < sources.budget.burst):
            assert account is not None
            self._refuse(source, account, accounts.wait(account))

    def failed(self, source: str, account: str | None) -> None:
        if source and self._sources.budget.on:
            self._sources.take(source)
        if account is not None and self._accounts.budget.on:
            self._accounts.take(account)

    def _refuse(self, source: str, account: str | None, wait: float) -> None:
        FAILURES.labels(caller().face, "throttled").inc()
        self._refused += 1
        now = self.clock.now()
        if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
            log.warning(
                "failed logins throttled",
                extra={
                    "source": source or "unknown",
                    "face": caller().face,
                    "account": account or "",
                    "refused": self._refused,
                },
            )
            self._logged_at, self._refused = now, 0
        seconds = max(1, math.ceil(min(wait, 3600.0)))
        raise errors.too_many_failed_logins(seconds)


def login_throttle(s: Settings, clock: Clock) -> LoginThrottle | None:
    """The throttle the settings ask for (None: both budgets off)."""
    per_source = Budget(s.login_failure_burst, s.login_failures_per_minute)
    per_account = Budget(s.account_login_failure_burst, s.account_login_failures_per_minute)
    if not per_source.on and not per_account.on:
        return None
    return LoginThrottle(clock, per_source, per_account)
