"""gRPC server channel options derived from Settings: queue depth and connection age.

The rules it keeps: grpc's own queue of calls not yet handed to the service is
far above any admission limit, so overload is answered by the service's
admission control (typed RESOURCE_EXHAUSTED), never by grpc (a bare
CANCELLED). A connection is aged out only when asked
(grpc_max_connection_age_seconds > 0); then every long-lived RPC on it, watch
streams included, ends within the grace that follows, with UNAVAILABLE, so a
client reconnects (through its load balancer, possibly to a new replica) and
resumes its watch by revision. Bad values are refused before any port opens.
"""

from __future__ import annotations

from service.config import Settings, env_name

# grpc's own queue of calls not yet handed to us.
_GRPC_PENDING_CALLS = 100_000


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Options for grpc.aio.server(); ValueError names the bad setting."""
    age = settings.grpc_max_connection_age_seconds
    grace = settings.grpc_max_connection_age_grace_seconds
    for field, value in (
        ("grpc_max_connection_age_seconds", age),
        ("grpc_max_connection_age_grace_seconds", grace),
    ):
        if not value >= 0:  # also refuses NaN
            raise ValueError(f"{env_name(field)} must be >= 0 seconds, got {value}")
    options = [
        ("grpc.server.max_pending_requests", _GRPC_PENDING_CALLS),
        ("grpc.server.max_pending_requests_hard_limit", _GRPC_PENDING_CALLS),
    ]
    if age > 0:
        options += [
            ("grpc.max_connection_age_ms", max(1, round(age * 1000))),
            ("grpc.max_connection_age_grace_ms", round(grace * 1000)),
        ]
    return options
