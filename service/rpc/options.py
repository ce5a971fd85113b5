"""gRPC server channel options derived from Settings: queue depth, connection age, keepalive.

Rule 1: grpc's own queue of calls not yet handed to the service is far above
any admission limit, so overload is answered by the service's admission
control (typed RESOURCE_EXHAUSTED), never by grpc (a bare CANCELLED).
Rule 2: a connection is aged out only when asked
(grpc_max_connection_age_seconds > 0); then every long-lived RPC on it, watch
streams included, ends within the grace that follows, with UNAVAILABLE, so a
client reconnects (through its load balancer, possibly to a new replica) and
resumes its watch by revision.
Rule 3: the server pings every connection, idle or not, it has heard nothing
on for grpc_keepalive_seconds, and closes one whose ping (any ping) goes
unanswered for grpc_keepalive_timeout_seconds: a watcher that vanished behind
a dead link (nothing closed, nothing sent) has its streams and their memory
freed.
Rule 4: the server accepts a client's pings as often as every
grpc_keepalive_min_client_seconds, with or without calls in flight, however
little it sends meanwhile; so a client keeping its connection alive at that
pace or slower is never sent GOAWAY too_many_pings.
Rule 5: bad values are refused before any port opens.
"""

from __future__ import annotations

import math

from service.config import Settings, env_name

# grpc's own queue of calls not yet handed to us.
_GRPC_PENDING_CALLS = 100_000
# grpc's "never" for a keepalive time (its own default on a client).
_NEVER_MS = 2**31 - 1


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _check(field: str, value: float, *, zero_allowed: bool = True) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"{env_name(field)} must be a number of seconds {bound}, got {value}")


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Options for grpc.aio.server(); ValueError names the bad setting."""
    age = settings.grpc_max_connection_age_seconds
    grace = settings.grpc_max_connection_age_grace_seconds
    keepalive = settings.grpc_keepalive_seconds
    min_client = settings.grpc_keepalive_min_client_seconds
    _check("grpc_max_connection_age_seconds", age)
    _check("grpc_max_connection_age_grace_seconds", grace)
    _check("grpc_keepalive_seconds", keepalive)
    _check(
        "grpc_keepalive_timeout_seconds",
        settings.grpc_keepalive_timeout_seconds,
        zero_allowed=False,
    )
    _check("grpc_keepalive_min_client_seconds", min_client)
    options = [
        ("grpc.server.max_pending_requests", _GRPC_PENDING_CALLS),
        ("grpc.server.max_pending_requests_hard_limit", _GRPC_PENDING_CALLS),
        ("grpc.keepalive_time_ms", _ms(keepalive) if keepalive > 0 else _NEVER_MS),
        ("grpc.keepalive_timeout_ms", _ms(settings.grpc_keepalive_timeout_seconds)),
        # Any ping in flight (grpc's own flow-control pings too) holds the
        # keepalive ping back, and grpc waits a minute for its answer by
        # default: the same timeout for all.
        ("grpc.http2.ping_timeout_ms", _ms(settings.grpc_keepalive_timeout_seconds)),
        # Pinging idle connections too (Rule 3), and accepting clients' pings
        # on them (Rule 4).
        ("grpc.keepalive_permit_without_calls", 1),
        # Otherwise grpc stops pinging after two pings with no data sent
        # (an idle connection, a watch stream between progress markers).
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_ping_interval_without_data_ms", round(min_client * 1000)),
    ]
    if age > 0:
        options += [
            ("grpc.max_connection_age_ms", _ms(age)),
            ("grpc.max_connection_age_grace_ms", round(grace * 1000)),
        ]
    return options
