"""Where status callbacks (and the URLs a participant request gives) may point.

Rule 1: an address is judged by the most specific network containing it among the
        allow-list and the deny-list (a deny wins a tie); one no listed network
        contains is allowed only when the allow-list is empty; an IPv4-mapped IPv6
        address is judged as the IPv4 address it carries.
Rule 2: with both lists empty (the default) every destination is open and nothing
        is resolved.
Rule 3: when a Create or Update gives a URL, its literal IP, or every address its
        host resolves to within RESOLVE_TIMEOUT_SECONDS (without blocking the event
        loop), must be allowed; a host that does not resolve is accepted, since it
        cannot be reached either.
Rule 4: at delivery through a session resolving with `PolicyResolver` (the
        dispatcher's), only allowed addresses are connected to: it drops the others
        from each resolution, and a literal IP is checked before connecting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from service.core import errors

RESOLVE_TIMEOUT_SECONDS = 2.0
# Twilio's "Invalid URL", which a bad StatusCallback or WaitUrl also gets.
INVALID_URL_CODE = 21205

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(OSError):
    """Every address of a callback's host is outside the allowed networks."""


def parse_networks(spec: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, ::1/128, 192.0.2.7' -> networks (a bare address is a /32 or /128)."""
    networks: list[Network] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"bad network {item!r}: expected a CIDR such as 10.0.0.0/8") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclasses.dataclass(frozen=True)
class DestinationPolicy:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    @classmethod
    def from_specs(cls, allow: str, deny: str) -> DestinationPolicy:
        return cls(parse_networks(allow), parse_networks(deny))

    @property
    def open(self) -> bool:
        return not self.allow and not self.deny

    def permits(self, address: str) -> bool:
        """Whether an IP address (text) may be connected to."""
        if self.open:
            return True
        parsed = _address(address)
        if parsed is None:
            return False
        best_allow = max(
            (n.prefixlen for n in self.allow if n.version == parsed.version and parsed in n),
            default=-1,
        )
        best_deny = max(
            (n.prefixlen for n in self.deny if n.version == parsed.version and parsed in n),
            default=-1,
        )
        if best_allow < 0 and best_deny < 0:
            return not self.allow
        return best_allow > best_deny

    async def url_problem(self, url: str) -> str | None:
        """Why `url` may not be a destination, or None. Only hosts that resolve
        (or are literal IPs) to an address the policy refuses are refused."""
        if self.open or not url:
            return None
        try:
            host = urlsplit(url).hostname
        except ValueError:
            return None  # not a URL at all: validation says so
        if not host:
            return None
        if _address(host) is not None:
            addresses = [host]
        else:
            addresses = await _resolve(host)
        if any(not self.permits(a) for a in addresses):
            return "host is not an allowed callback destination"
        return None


async def _resolve(host: str) -> list[str]:
    """Every address `host` resolves to, or [] when it does not resolve in time."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError, ValueError):
        return []
    return [str(info[4][0]) for info in infos]


class PolicyResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses the policy allows."""

    def __init__(self, policy: DestinationPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if self._policy.permits(r["host"])]
        if not allowed:
            raise DestinationRefused("callback destination not allowed")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


OPEN = DestinationPolicy()


def literal_host_refused(policy: DestinationPolicy, host: str | None) -> bool:
    """aiohttp connects to a literal IP without resolving it: check it here."""
    if policy.open or host is None:
        return False
    return _address(host) is not None and not policy.permits(host)


def refused_cause(exc: BaseException) -> bool:
    """Whether a client error came from PolicyResolver refusing every address."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DestinationRefused):
            return True
        seen.add(id(current))
        current = getattr(current, "os_error", None) or current.__cause__
    return False


def url_fields(message: Message) -> list[str]:
    """The request's URL fields: every string field named *_url or *_callback."""
    return [
        field.name
        for field in message.DESCRIPTOR.fields
        if field.type == FieldDescriptor.TYPE_STRING and field.name.endswith(("_url", "_callback"))
    ]


async def check_request(policy: DestinationPolicy, message: Message) -> None:
    """INVALID_ARGUMENT (21205) naming every URL field whose host the policy refuses."""
    if policy.open:
        return
    fields = [f for f in url_fields(message) if getattr(message, f)]
    problems = await asyncio.gather(*(policy.url_problem(getattr(message, f)) for f in fields))
    bad = [
        errors.FieldViolation(field, problem, INVALID_URL_CODE)
        for field, problem in zip(fields, problems, strict=True)
        if problem is not None
    ]
    if bad:
        raise errors.invalid(bad)
